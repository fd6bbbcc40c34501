//go:build !gallra_crashtest

package crashpoint

// Hit marks a crash point; it does nothing in a normal build.
func Hit(name string) {}
