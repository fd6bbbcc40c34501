package verify

import (
	"bufio"
	"io"
	"strconv"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// textWindow is how much of a long line is scanned at once; consecutive
// windows overlap by the detector's context, so a line of any length is
// scanned in bounded memory and nothing is missed at a window's edge.
// Variables, not constants, so that tests can make them small.
var (
	textWindow  = 1 << 20
	textReadBuf = 64 << 10
)

// scanText scans r line by line, reporting at prefix+"line N".
func (sc *scan) scanText(rep *fileReport, prefix string, r io.Reader) error {
	r = transform.NewReader(r, unicode.BOMOverride(transform.Nop))
	br := bufio.NewReaderSize(r, textReadBuf)
	ctx := sc.d.context()
	var (
		buf   []byte // the current line, or its tail for a long line
		own   int    // where in buf the part not yet scanned begins
		found kinds  // kinds found in the current line so far
		line  int
	)
	for {
		frag, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			buf = append(buf, frag...)
			if len(buf) >= textWindow+2*ctx {
				found |= sc.d.detect(buf, own, len(buf)-ctx, modeText)
				n := copy(buf, buf[len(buf)-2*ctx:])
				buf, own = buf[:n], ctx
			}
			continue
		}
		if len(frag) > 0 || len(buf) > 0 {
			b := frag
			if len(buf) > 0 {
				buf = append(buf, frag...)
				b = buf
			}
			line++
			sc.stats.Values++
			found |= sc.d.detect(b, own, len(b), modeText)
			if found != 0 {
				rep.add(prefix+"line "+strconv.Itoa(line), found)
			}
			buf, own, found = buf[:0], 0, 0
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
