// Package ipvs is the decision core of golvs: virtual services, real servers
// (destinations), the connection table with its persistence templates, the
// per-protocol state machines, counters and statistics, exactly as the Linux
// kernel's IP Virtual Server (net/netfilter/ipvs, Linux 6.1) keeps them.
//
// The core does no I/O and never reads a clock: every method that depends on
// time takes the caller's current [Time]. Timers are deadlines kept in one
// heap and fired by [Director.Advance]; there is no goroutine or time.Timer
// per connection.
//
// Concurrency: a [Director] is safe for use by many goroutines. Lookups of
// existing connections take only a shard's read lock; scheduling takes the
// service's scheduler lock; configuration changes take the director's lock.
package ipvs
