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

// Each round's runs are compared with each other, not the medians of
// all rounds: the machine's speed drifts between rounds, and a slow round
// of one method must not meet a fast round of the other.
func TestRoundRatiosPairRounds(t *testing.T) {
	m := func(rows int, cpu float64) measurement {
		return measurement{rows: rows, cpu: time.Duration(cpu * float64(time.Second))}
	}
	// Round 1 is slow for both (2x), round 3 fast; within each round the
	// pair costs 10%, 20% and 5% more per row.
	pairs := []measurement{m(200, 44), m(200, 24), m(200, 10.5)}
	alone := []measurement{m(100, 20), m(100, 10), m(100, 5)}
	if got, want := roundRatios(pairs, alone), "1.100 (rounds 1.050 to 1.200)"; got != want {
		t.Errorf("roundRatios = %q, want %q", got, want)
	}
	// (The medians of each method's own rounds, 0.12 and 0.10 CPU-s per
	// 100 rows, would have said 1.200.)
	if got, want := roundRatios(pairs[:1], alone[:1]), "1.100"; got != want {
		t.Errorf("one round: %q, want %q", got, want)
	}
	if got := roundRatios(nil, alone); got != "no runs" {
		t.Errorf("no rounds: %q", got)
	}
}
