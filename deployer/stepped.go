package deployer

import "slices"

// stepped tells Config.OnStep, when set, that the deploy reached the last
// step of its journal. The listener gets a copy it may keep.
func (d *deploy) stepped() {
	if d.OnStep == nil {
		return
	}
	j := d.j
	j.Steps = slices.Clone(d.j.Steps)
	j.Previous, j.Routes = nil, nil // not the listener's business
	d.OnStep(j)
}
