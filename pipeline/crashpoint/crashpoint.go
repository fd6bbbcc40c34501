// Package crashpoint marks the places in a run where the crash tests kill
// the process. In a normal build Hit does nothing and costs nothing; built
// with the tag gallra_crashtest, Hit kills the process with SIGKILL when
// GALLRA_CRASH_AT names that place ("name" or "name#n" for its n-th hit),
// exactly as a power cut or `kill -9` would stop it there.
package crashpoint
