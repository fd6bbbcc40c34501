package disclosure

import (
	"fmt"
	"math"

	"github.com/gallra/gallra/transforms/table"
)

// Round rounds every unsuppressed cell of t, margins included, to the
// nearest multiple of base (conventional rounding; a value exactly half-way
// is rounded up, e.g. 5 → 10 and 15 → 20 with base 10). Margins are rounded
// on their own, from their true values, so a rounded total need not equal the
// sum of its rounded parts. Typical bases are 3, 5 and 10; base must be at
// least 2 and values must be non-negative whole counts.
func Round(t *table.Table, base int) error {
	if base < 2 {
		return fmt.Errorf("disclosure: table %s: rounding base %d must be at least 2", t.ID, base)
	}
	for i, v := range t.Values {
		if v < 0 || v != math.Trunc(v) || v > 1<<52 {
			return fmt.Errorf("disclosure: table %s: cell %d is not a whole non-negative count", t.ID, i)
		}
	}
	b := int64(base)
	for i, v := range t.Values {
		if t.Status[i] == table.StatusSuppressed {
			continue
		}
		// Adding ⌊b/2⌋ then truncating rounds to the nearest multiple,
		// half-way values (even b only) upwards.
		t.Values[i] = float64((int64(v) + b/2) / b * b)
	}
	t.Method = fmt.Sprintf("rounding to base %d", base)
	addNote(t,
		fmt.Sprintf("Värdena är avrundade till närmaste multipel av %d; summor är avrundade var för sig och kan avvika från summan av delarna.", base),
		fmt.Sprintf("Values are rounded to the nearest multiple of %d; totals are rounded on their own and may differ from the sum of their parts.", base))
	return nil
}
