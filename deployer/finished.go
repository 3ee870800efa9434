package deployer

// finished tells Config.OnFinished, when set, that ev was recorded in the
// history of workload.
func (e *Engine) finished(workload string, ev Event) {
	if e.OnFinished != nil {
		e.OnFinished(workload, ev)
	}
}
