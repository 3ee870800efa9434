package metrics

import (
	"testing"
	"time"
)

func BenchmarkWebhookDelivery(b *testing.B) {
	m := New(Options{Sources: sources})
	b.ReportAllocs()
	for b.Loop() {
		m.WebhookDelivery("github", DeliveryAccepted)
	}
}

func BenchmarkDeployFinished(b *testing.B) {
	m := New(Options{Sources: sources})
	phases := []Phase{{PhasePull, 2 * time.Second}, {PhaseCreate, 300 * time.Millisecond}, {PhaseHealth, time.Second},
		{PhaseSwitch, 20 * time.Millisecond}, {PhaseWatch, 10 * time.Second}, {PhaseDrain, 2 * time.Second}}
	b.ReportAllocs()
	for b.Loop() {
		m.DeployFinished("shop", DeploySucceeded, phases, 4*time.Second)
	}
}

func BenchmarkWebhookDeliveryParallel(b *testing.B) {
	m := New(Options{Sources: sources})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.WebhookDelivery("github", DeliveryAccepted)
		}
	})
}
