package wes

// State is a WES run state, spelled as in the GA4GH WES 1.1.0 State enum.
type State string

// The WES states.
const (
	StateUnknown       State = "UNKNOWN"
	StateQueued        State = "QUEUED"
	StateInitializing  State = "INITIALIZING"
	StateRunning       State = "RUNNING"
	StatePaused        State = "PAUSED"
	StateComplete      State = "COMPLETE"
	StateExecutorError State = "EXECUTOR_ERROR"
	StateSystemError   State = "SYSTEM_ERROR"
	StateCanceled      State = "CANCELED"
	StateCanceling     State = "CANCELING"
	StatePreempted     State = "PREEMPTED"
)

// AllStates lists every state in the order of the WES enum.
var AllStates = []State{
	StateUnknown, StateQueued, StateInitializing, StateRunning, StatePaused, StateComplete,
	StateExecutorError, StateSystemError, StateCanceled, StateCanceling, StatePreempted,
}

// Valid reports whether s is one of the WES states.
func (s State) Valid() bool {
	for _, v := range AllStates {
		if s == v {
			return true
		}
	}
	return false
}

// Terminal reports whether a run in state s will never change state again.
func (s State) Terminal() bool {
	switch s {
	case StateComplete, StateExecutorError, StateSystemError, StateCanceled, StatePreempted:
		return true
	}
	return false
}

// transitions lists, for each non-terminal state, the states a run may move to.
// Terminal states have no entry: they are sticky.
var transitions = map[State][]State{
	StateUnknown:      {StateQueued, StateSystemError},
	StateQueued:       {StateInitializing, StateRunning, StateCanceling, StateCanceled, StateSystemError},
	StateInitializing: {StateRunning, StateCanceling, StateCanceled, StateSystemError, StateExecutorError},
	StateRunning:      {StatePaused, StateCanceling, StateComplete, StateExecutorError, StateSystemError, StatePreempted, StateCanceled},
	StatePaused:       {StateRunning, StateCanceling, StateCanceled, StateSystemError},
	StateCanceling:    {StateCanceled, StateSystemError},
}

// ValidateTransition returns nil when a run may move from one state to another, and an
// ECONFLICT *Error otherwise. Staying in the same non-terminal state is allowed (a no-op).
// Only the run store's atomic update calls it.
func ValidateTransition(from, to State) error {
	if !to.Valid() {
		return Errorf(EINVALID, "unknown state %q", to)
	}
	if from.Terminal() {
		if from == to {
			return nil
		}
		return Errorf(ECONFLICT, "run is already %s", from)
	}
	if from == to {
		return nil
	}
	for _, s := range transitions[from] {
		if s == to {
			return nil
		}
	}
	return Errorf(ECONFLICT, "a run cannot go from %s to %s", from, to)
}
