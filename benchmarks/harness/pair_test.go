package main

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// The two runs of a pair overlap (each waits until the other has started,
// which a pair run one after the other never gets past), and the pair
// reports the rows and CPU of both, the longer wall and the larger RSS.
func TestPairRunsBothAtOnce(t *testing.T) {
	var started sync.WaitGroup
	started.Add(2)
	both := make(chan struct{})
	go func() { started.Wait(); close(both) }()
	ms := [2]measurement{
		{rows: 100, wall: 3 * time.Second, cpu: 2 * time.Second, maxRSS: 50},
		{rows: 120, wall: 2 * time.Second, cpu: 4 * time.Second, maxRSS: 70},
	}
	got, err := pair(func(k int) (measurement, error) {
		started.Done()
		select {
		case <-both:
		case <-time.After(10 * time.Second):
			return measurement{}, errors.New("the other run of the pair did not start: runs are not concurrent")
		}
		return ms[k], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := measurement{rows: 220, wall: 3 * time.Second, cpu: 6 * time.Second, maxRSS: 70}
	if got != want {
		t.Errorf("pair = %+v, want %+v", got, want)
	}
}

func TestPairFailsIfEitherFails(t *testing.T) {
	boom := errors.New("boom")
	for bad := range 2 {
		_, err := pair(func(k int) (measurement, error) {
			if k == bad {
				return measurement{}, boom
			}
			return measurement{rows: 1}, nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("run %d failing: err = %v, want boom", bad, err)
		}
	}
}
