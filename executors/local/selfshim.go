package local

import "os"

// ShimEnvVar, set to "1" in a process's environment, makes MaybeShim act as the shim.
// It lets a test binary (which has no `executor-shim` command) be its own shim.
const ShimEnvVar = "ENCLAVE_LOCAL_SHIM"

// MaybeShim runs ShimMain with the process's arguments and exits, if ShimEnvVar is "1";
// otherwise it returns. Tests of packages that use the local executor call it first in
// TestMain and configure the executor with SelfShim.
func MaybeShim() {
	if os.Getenv(ShimEnvVar) == "1" {
		os.Exit(ShimMain(os.Args[1:]))
	}
}

// SelfShim sets cfg.ShimCommand to the running executable and cfg.ShimEnv to ShimEnvVar=1,
// so that the shim is this same binary entering MaybeShim. For tests.
func SelfShim(cfg Config) (Config, error) {
	exe, err := os.Executable()
	if err != nil {
		return cfg, err
	}
	cfg.ShimCommand = []string{exe}
	cfg.ShimEnv = []string{ShimEnvVar + "=1"}
	return cfg, nil
}
