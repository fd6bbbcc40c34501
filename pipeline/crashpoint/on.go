//go:build gallra_crashtest

package crashpoint

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
)

var (
	mu     sync.Mutex
	counts = map[string]int{}
	target = os.Getenv("GALLRA_CRASH_AT")
)

// Hit kills the process if GALLRA_CRASH_AT names this point ("name", or
// "name#n" for the n-th time it is reached).
func Hit(name string) {
	if target == "" {
		return
	}
	mu.Lock()
	counts[name]++
	n := counts[name]
	mu.Unlock()
	want, nth, _ := strings.Cut(target, "#")
	if want != name || (nth != "" && nth != fmt.Sprint(n)) {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is not delivered synchronously; never go on
}
