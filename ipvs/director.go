package ipvs

import "sync"

// Config configures a [Director]. A nil *Config means the defaults.
type Config struct {
	// Settings are the kernel sysctls; zero value: DefaultSettings.
	Settings *Settings
	// Schedulers makes scheduler instances by name (sched.New).
	Schedulers SchedulerFactory
}

// Director holds virtual services, real servers and the connection table.
type Director struct {
	mu       sync.RWMutex
	settings Settings
}
