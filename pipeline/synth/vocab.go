package synth

import (
	"embed"
	"strings"
	"sync"
)

//go:embed data/*.txt
var dataFS embed.FS

// vocabulary is the embedded word lists.
type vocabulary struct {
	femaleNames, maleNames []string
	surnames               []string
	streets                []string
	health                 []string
	notes                  []string
}

var vocab = sync.OnceValue(func() *vocabulary {
	v := &vocabulary{
		surnames: lines("efternamn.txt"),
		streets:  lines("gator.txt"),
		health:   lines("halsa.txt"),
		notes:    lines("anteckningar.txt"),
	}
	for _, l := range lines("fornamn.txt") {
		sex, name, _ := strings.Cut(l, " ")
		if sex == "K" {
			v.femaleNames = append(v.femaleNames, name)
		} else {
			v.maleNames = append(v.maleNames, name)
		}
	}
	return v
})

// lines returns the non-blank, non-comment lines of an embedded data file.
func lines(name string) []string {
	b, err := dataFS.ReadFile("data/" + name)
	if err != nil {
		panic("synth: embedded " + name + " missing: " + err.Error()) // a build defect
	}
	var out []string
	for l := range strings.Lines(string(b)) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// place is a municipality: its code, towns and postcode prefixes.
type place struct {
	kommun   string
	towns    []string
	postcode []int // three-digit prefixes
}

// places are the municipalities the sources are in, and the short list
// af_program draws from. The codes are checked against kommuner.csv in the
// tests.
var places = map[string]place{
	"0180": {"0180", []string{"Stockholm", "Farsta", "Skärholmen", "Spånga", "Hägersten", "Bromma", "Johanneshov", "Vällingby"}, []int{112, 113, 116, 117, 118, 123, 124, 127, 162, 163, 168}},
	"0380": {"0380", []string{"Uppsala", "Storvreta", "Björklinge"}, []int{752, 753, 754, 756, 757}},
	"0580": {"0580", []string{"Linköping", "Ljungsbro", "Malmslätt"}, []int{582, 583, 584, 585, 586, 587, 589}},
	"0680": {"0680", []string{"Jönköping", "Huskvarna", "Bankeryd", "Tenhult", "Gränna", "Norrahammar"}, []int{551, 552, 553, 554, 555, 556, 561, 562, 563, 564, 566}},
	"1280": {"1280", []string{"Malmö", "Limhamn", "Bunkeflostrand", "Oxie"}, []int{211, 212, 213, 214, 215, 216, 217, 218}},
	"1480": {"1480", []string{"Göteborg", "Västra Frölunda", "Angered", "Hisings Backa", "Torslanda"}, []int{411, 412, 413, 414, 415, 416, 417, 418, 421, 424, 425}},
	"1880": {"1880", []string{"Örebro", "Vintrosa", "Odensbacken"}, []int{702, 703, 711, 715}},
	"1980": {"1980", []string{"Västerås", "Skultuna", "Barkarö"}, []int{721, 722, 723, 724, 725, 726}},
	"2480": {"2480", []string{"Umeå", "Holmsund", "Sävar", "Obbola"}, []int{901, 902, 903, 904, 905, 906, 907, 913, 918}},
	"2580": {"2580", []string{"Luleå", "Gammelstad", "Råneå", "Södra Sunderbyn", "Antnäs", "Persön"}, []int{972, 973, 974, 975, 976, 977}},
}

// nationalKommuner is the short list af_program's participants live in.
var nationalKommuner = []string{"0180", "1480", "1280", "0380", "0580", "1880", "0680", "2580", "2480", "1980"}

// profile is what the generator knows about a source beyond its schema.
type profile struct {
	weight         int      // share of Options.Rows
	ageMin, ageMax int      // age at period start
	kommuner       []string // where new participants live; [0] is the source's own
	form           idForm   // how the system writes identifiers
	reserve        reserveStyle
	plusForms      bool     // a handful of '+' forms for persons aged 100+
	related        []string // sources whose participants recur here
	recordFmt      string   // record ID layout, one %d
	nameLastFirst  bool     // full_name as "Efternamn, Förnamn"
	units          []string // unit column values
	statusActive   []string
	statusEnded    []string
	drift          int // preference for carrying the drifted file (higher wins)
}

type reserveStyle uint8

const (
	noReserve         reserveStyle = iota
	schoolReserve                  // YYYYMMDD-TFnn
	universityReserve              // YYMMDD-Xnnn
)

var defaultStatusActive = []string{"Aktiv", "Pågående"}
var defaultStatusEnded = []string{"Avslutad", "Avslutad", "Avslutad", "Avbruten", "Till arbete", "Till studier"}

// profiles by schema name; other schemas get defaultProfile.
var profiles = map[string]profile{
	"af_program": {
		weight: 30, ageMin: 18, ageMax: 66, kommuner: nationalKommuner, form: form12,
		plusForms: true, recordFmt: "A%08d",
		units:        []string{"Arbetsförmedlingen Stockholm City", "Arbetsförmedlingen Göteborg", "Arbetsförmedlingen Malmö", "Arbetsförmedlingen Jönköping", "Arbetsförmedlingen Luleå", "Arbetsförmedlingen Umeå", "Arbetsförmedlingen Distans"},
		statusActive: []string{""},
		statusEnded:  []string{"Fått arbete", "Fått arbete", "Börjat studera", "Avbrott", "Programtiden slut", "Sjukskriven", "Annan orsak"},
	},
	"aksel": {
		weight: 12, ageMin: 18, ageMax: 66, kommuner: []string{"2580"}, form: form12,
		related: []string{"skills", "af_program"}, recordFmt: "%06d",
		units: []string{"Arbetsmarknadsenheten Luleå", "Kompetenscentrum", "Arbetsträningen Hägnan"},
	},
	"amea": {
		weight: 12, ageMin: 18, ageMax: 66, kommuner: []string{"0680"}, form: form12Dash,
		related: []string{"af_program"}, recordFmt: "AM-%07d",
		units: []string{"Arbetsmarknadsavdelningen", "Jobbcentrum Huskvarna", "Arbetsträningen Ekhagen"},
	},
	"feriejobb": {
		weight: 10, ageMin: 15, ageMax: 19, kommuner: []string{"2580"}, form: form12,
		related: []string{"uka"}, recordFmt: "FJ%06d",
		units: []string{"Luleå kommun, parkförvaltningen", "Äldreboende Sunderbyn", "Förskola Porsön", "Kulturens hus", "Fritidsgård Hertsön", "Lulebo AB", "Idrottsföreningen Norrskenet"},
	},
	"jobbtorg": {
		weight: 16, ageMin: 18, ageMax: 66, kommuner: []string{"0180"}, form: form12Dash,
		related: []string{"af_program"}, recordFmt: "JT-%07d", drift: 2,
		units: []string{"Jobbtorg Järva", "Jobbtorg Söderort", "Jobbtorg Västerort", "Jobbtorg City", "Jobbtorg Unga", "Jobbtorg Skärholmen"},
	},
	"skills": {
		weight: 10, ageMin: 18, ageMax: 66, kommuner: []string{"2580"}, form: form12Dash,
		reserve: universityReserve, related: []string{"aksel", "af_program"}, recordFmt: "SK%07d", drift: 1,
		units:        []string{"Arbetsmarknadsenheten Luleå", "Kompetenscentrum", "Vuxenutbildningen Luleå", "Arbetsträningen Hägnan"},
		statusActive: []string{"Arbetsträning", "Praktik", "Arbetssökande", "Studerar"},
		statusEnded:  []string{"Anställd", "Studerar", "Arbetssökande", "Sjukskriven", "Okänd"},
	},
	"uka": {
		weight: 10, ageMin: 16, ageMax: 19, kommuner: []string{"2580"}, form: form12Dash,
		reserve: schoolReserve, related: []string{"feriejobb"}, recordFmt: "UKA%06d", nameLastFirst: true,
		units:        []string{"Luleå gymnasieskola", "Hertsöskolan", "Bergsskolan", "Tunaskolan", "Furuparksskolan", "Annan kommun"},
		statusActive: []string{"Ingen sysselsättning", "Praktik", "Arbetar deltid", "Okänd"},
		statusEnded:  []string{"Studerar", "Studerar", "Arbetar", "Flyttat", "Folkhögskola", "Okänd"},
	},
}

var defaultProfile = profile{
	weight: 10, ageMin: 18, ageMax: 66, kommuner: nationalKommuner, form: form12Dash,
	related: []string{"af_program"}, recordFmt: "R%08d",
	units: []string{"Enheten för arbetsmarknadsinsatser", "Vuxenutbildningen"},
}

// Word lists for the remaining holds.
var (
	occupations = []string{"5223", "9412", "5321", "9111", "4321", "5120", "8332", "9331", "5311", "5322", "7411", "9621", "2341", "4222", "5414", "9629", "7112", "8343"}
	allergies   = []string{"", "", "", "", "Nötter", "Gluten", "Laktos", "Pälsdjur", "Pollen", "Ingen känd", "Fisk och skaldjur"}
	languages   = []string{"Svenska", "Svenska", "Svenska", "Arabiska", "Somaliska", "Tigrinja", "Dari", "Persiska", "Engelska", "Polska", "Finska", "Ukrainska", "Kurdiska", "Bosniska"}
	companyA    = []string{"Norr", "Söder", "Väster", "Öster", "Sjö", "Berg", "Skog", "Älv", "Stads", "Kust", "Dal", "Ek"}
	companyB    = []string{"bygg", "städ", "lager", "vård", "service", "logistik", "handel", "fastigheter", "transport", "café", "måleri", "el"}
	companyC    = []string{" AB", " AB", " AB", " HB", " Ekonomisk förening", " AB"}
	relatives   = []string{"Mamma", "Pappa", "Vårdnadshavare", "Syster", "Bror", "God man"}
	emailDomain = []string{"example.com", "example.net", "example.org", "mail.example"}
	// unknownLabels are measure labels no schema maps; the generator checks.
	unknownLabels = []string{"Okänd insats", "Projekt Framtid", "Övrigt", "Gammal åtgärdskod 17", "Test"}
	// badDates are start dates no parser may accept.
	badDates = []string{"2023-13-45", "31/12/2023", "2022-02-30", "20231345", "2021-00-10"}
	// extraFields are what a field_count row carries after its last column.
	extraFields = []string{"OBS", "se anteckning", "ändrad", "x"}
)

// fold makes a name fit an e-mail address or user name: lower case ASCII.
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case 'å', 'ä', 'á', 'à':
			b.WriteByte('a')
		case 'ö', 'ø', 'ó':
			b.WriteByte('o')
		case 'é', 'è', 'ë':
			b.WriteByte('e')
		case 'ü':
			b.WriteByte('u')
		case ' ', '-', '\'':
			b.WriteByte('-')
		default:
			if r < 128 {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}
