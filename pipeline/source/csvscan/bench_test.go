package csvscan

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"testing"
)

// benchExport is 100,000 rows in the shape of an Arbetsförmedlingen
// programme export: 19 columns, of which a policy keeps 5 (identifier,
// programme code, start and end dates, municipality); names, addresses and
// notes are dropped. No real person: the identifiers are not valid
// personnummer.
func benchExport() []byte {
	var b bytes.Buffer
	b.WriteString("Ärende-ID,Personnummer,Förnamn,Efternamn,Folkbokföringsadress,Postnummer,Postort,Kommunkod,Programkod,Program,Beslutsdatum,Startdatum,Slutdatum,Anordnare,Organisationsnummer,Sökt yrke (SSYK),Kontor,Handläggare,Avslutsorsak\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "A%08d,1990%04d%04d,Förnamn%d,Efternamn-%d,Gatan %d B,%03d %02d,Orten,2580,UGA,Jobbgarantin för ungdomar,2024-%02d-04,2024-%02d-27,2024-%02d-27,Anordnaren AB,559147-8804,5321,Kontoret,Handläggare %d,\"Fått arbete, heltid\"\n",
			i, i%1231, i%10000, i%97, i%89, i%60, i%1000, i%100, 1+i%12, 1+i%12, 1+(i+5)%12, i%40)
	}
	return b.Bytes()
}

var benchCols = []int{1, 7, 8, 11, 12}

// BenchmarkRead reads the same export with csv.Reader (ReuseRecord, then
// picking the five columns) and with a Scanner selecting them: the step
// the Scanner replaced in ingest.
func BenchmarkRead(b *testing.B) {
	data := benchExport()
	b.Run("encoding-csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		kept := make([]string, len(benchCols))
		for b.Loop() {
			cr := csv.NewReader(bufio.NewReaderSize(bytes.NewReader(data), 1<<16))
			cr.Comma, cr.FieldsPerRecord, cr.ReuseRecord = ',', -1, true
			n := 0
			for {
				rec, err := cr.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				for i, c := range benchCols {
					kept[i] = rec[c]
				}
				n++
			}
			if n != 100_001 {
				b.Fatalf("%d records", n)
			}
		}
	})
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			sc := New(bufio.NewReaderSize(bytes.NewReader(data), 1<<16), ',')
			sc.Select(benchCols)
			n := 0
			for {
				_, err := sc.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != 100_001 {
				b.Fatalf("%d records", n)
			}
		}
	})
}
