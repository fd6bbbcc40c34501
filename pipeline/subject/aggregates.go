package subject

import (
	"context"

	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// eraseAggregates subtracts the persons' contributions from frozen
// aggregates. Not built yet: the lake has no aggregates table.
func eraseAggregates(ctx context.Context, tx *lakeop.Tx, key pseudonym.Key, q *Request, found []match, dryRun bool) error {
	return nil
}
