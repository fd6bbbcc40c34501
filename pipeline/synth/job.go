package synth

// Sources is the [[source]] part of a job file that ingests everything
// Generate writes: every built-in schema as a source, under the policies a
// municipality would plausibly choose, with the retention policy that
// expresses its privacy notice where the notice names one. The demo, the benchmarks and the crash
// tests put their own header (paths, key, settle) in front of it.
const Sources = `
[[source]]
name = "amea"               # Jönköping
municipality = "0680"
keep = ["sex", "age_band", "municipality"]
retention = "jonkoping_amea"

[[source]]
name = "aksel"              # Luleå: personnummer/samordningsnummer or birth date only
municipality = "2580"
keep = ["sex", "age_band", "municipality"]
birthdate = "unlinked"      # counted, never linked to a person
retention = "lulea_aksel"

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
retention = "lulea_uka"

[[source]]
name = "feriejobb"          # Luleå
municipality = "2580"
keep = ["age_band"]
retention = "lulea_feriejobb"

[[source]]
name = "jobbtorg"           # Stockholm
municipality = "0180"
keep = ["sex", "age_band", "municipality"]

[[source]]
name = "af_program"         # Arbetsförmedlingen-style programme export, kommunkod per row
keep = ["sex", "age_band", "municipality"]
retention = "arbetsformedlingen"
`
