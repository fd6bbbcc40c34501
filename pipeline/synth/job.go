package synth

// Sources is the [[source]] part of a job file that ingests everything
// Generate writes: every built-in schema as a source, under the policies a
// municipality would plausibly choose. The demo, the benchmarks and the crash
// tests put their own header (paths, key, settle) in front of it.
const Sources = `
[[source]]
name = "amea"               # Jönköping
municipality = "0680"
keep = ["sex", "age_band", "municipality"]

[[source]]
name = "aksel"              # Luleå: personnummer/samordningsnummer or birth date only
municipality = "2580"
keep = ["sex", "age_band", "municipality"]
birthdate = "unlinked"      # counted, never linked to a person

[[source]]
name = "skills"             # Luleå
municipality = "2580"
keep = ["sex", "age_band"]
reserve = "pseudonymise"    # university interim numbers get pseudonyms of their own kind

[[source]]
name = "uka"                # Luleå, kommunala aktivitetsansvaret 16–19
municipality = "2580"
keep = ["sex", "age_band"]
reserve = "unlinked"        # school temporary numbers: counted, never linked

[[source]]
name = "feriejobb"          # Luleå
municipality = "2580"
keep = ["age_band"]

[[source]]
name = "jobbtorg"           # Stockholm
municipality = "0180"
keep = ["sex", "age_band", "municipality"]

[[source]]
name = "af_program"         # Arbetsförmedlingen-style programme export, kommunkod per row
keep = ["sex", "age_band", "municipality"]
`
