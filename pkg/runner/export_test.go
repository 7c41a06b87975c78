package runner

import "time"

// EffectGrace is how long others leave a stored side effect to the step that stored it.
const EffectGrace = effectGrace

// SetFailpoint makes r call f at each of its failpoints (see at); f may panic to stop the
// step dead there, as a worker killed at that moment would.
func SetFailpoint(r *Runner, f func(point string)) { r.failpoint = f }

// SetHungPass sets how long a reconcile pass may run before its worker stops renewing the
// reconciler lease during it (default hungPass).
func SetHungPass(r *Runner, d time.Duration) { r.hungPass = d }
