package mergeconversion

import "strings"

// Query parameters of the merge function's jobs.
const (
	paramConversion = "conversion_id"
	paramRun        = "run_id"
)

// tables names the three tables one merge touches, as quoted references.
type tables struct {
	staged, attribution, rejected string
}

// stagedColumns are the staged columns an attribution row keeps.
const stagedColumns = "id, id_generated, client_id, created, value, currency, is_qualified, params, " +
	"user_id, fingerprint"

// tieBreak orders the rows that share an id, best first. created is
// compared as microseconds: the local emulator's ARRAY_AGG ignores an
// ORDER BY on a TIMESTAMP (BigQuery does not), but orders integers.
const tieBreak = "is_qualified DESC, UNIX_MICROS(created) DESC, value DESC, fingerprint DESC"

// dedupSQL selects the accepted staged rows, one per id: qualified before
// unqualified, then the latest created, then the highest value, then the
// highest content fingerprint, so that the same staged rows always give
// the same choice. (ARRAY_AGG with ORDER BY and LIMIT 1 per id rather
// than ROW_NUMBER: BigQuery runs both well, but the local emulator's
// window functions take quadratic time, minutes for a few thousand rows.)
func (t tables) dedupSQL() string {
	return `SELECT best.* FROM (
    SELECT ARRAY_AGG(STRUCT(` + stagedColumns + `)
      ORDER BY ` + tieBreak + ` LIMIT 1)[OFFSET(0)] AS best
    FROM ` + t.staged + `
    WHERE ARRAY_LENGTH(problems) = 0
    GROUP BY id
  )`
}

// chosenSQL selects the version key of each row dedupSQL chooses. (The
// local emulator cannot translate dedupSQL inside a DELETE, but can this.)
func (t tables) chosenSQL() string {
	return `SELECT ARRAY_AGG(` + versionKey + `
      ORDER BY ` + tieBreak + ` LIMIT 1)[OFFSET(0)]
    FROM ` + t.staged + `
    WHERE ARRAY_LENGTH(problems) = 0
    GROUP BY id`
}

// versionKey identifies one version of a row: its id and fingerprint.
const versionKey = "CONCAT(id, '/', fingerprint)"

// summarySQL counts, in one query over the staged rows and the existing
// rows of this conversion, what the run read, rejected (per reason, with
// a few sample ids), collapsed, generated, and would insert, update or
// leave unchanged. Each result row is (metric, reason, n, sample).
func (t tables) summarySQL() string {
	cur := `SELECT id, fingerprint FROM ` + t.attribution + ` WHERE conversion_id = @` + paramConversion
	return `WITH dedup AS (
  ` + t.dedupSQL() + `
),
existing AS (` + cur + `)
SELECT 'read' AS metric, CAST(NULL AS STRING) AS reason, COUNT(*) AS n,
  CAST(NULL AS STRING) AS sample FROM ` + t.staged + `
UNION ALL
SELECT 'rejected', NULL, COUNT(*), NULL FROM ` + t.staged + ` WHERE ARRAY_LENGTH(problems) > 0
UNION ALL
SELECT 'reason', reason, COUNT(*), NULL FROM ` + t.staged + `, UNNEST(problems) AS reason
  GROUP BY reason
UNION ALL
SELECT 'sample', NULL, 0, id FROM (
  SELECT id FROM ` + t.staged + ` WHERE ARRAY_LENGTH(problems) > 0 ORDER BY id LIMIT 5)
UNION ALL
SELECT 'accepted', NULL, COUNT(*), NULL FROM ` + t.staged + ` WHERE ARRAY_LENGTH(problems) = 0
UNION ALL
SELECT 'merged', NULL, COUNT(*), NULL FROM dedup
UNION ALL
SELECT 'generated', NULL, COUNT(*), NULL FROM dedup WHERE id_generated
UNION ALL
SELECT 'inserted', NULL, COUNT(*), NULL FROM dedup WHERE id NOT IN (SELECT id FROM existing)
UNION ALL
SELECT 'unchanged', NULL, COUNT(*), NULL FROM dedup
  WHERE ` + versionKey + ` IN (SELECT ` + versionKey + ` FROM existing)`
}

// mergeSQL is the merge: one transaction that inserts each deduplicated
// row whose version the table lacks (keeping the first_seen of the row
// it replaces), deletes the versions those rows replace, and copies the
// rejected rows with their problems. Re-running it after it committed
// changes nothing, and on a store without atomic transactions a rerun
// after a partial run completes it.
func (t tables) mergeSQL() string {
	conv := "@" + paramConversion
	return `BEGIN TRANSACTION;

INSERT INTO ` + t.attribution + ` (conversion_id, ` + stagedColumns + `,
  first_seen, updated_at, run_id)
SELECT CAST(` + conv + ` AS STRING), d.id, d.id_generated, d.client_id, d.created, d.value,
  d.currency, d.is_qualified, d.params, d.user_id, d.fingerprint,
  COALESCE(e.seen, CURRENT_TIMESTAMP()), CURRENT_TIMESTAMP(), CAST(@` + paramRun + ` AS STRING)
FROM (` + t.dedupSQL() + `) AS d
LEFT JOIN (
  SELECT id AS seen_id, MIN(first_seen) AS seen FROM ` + t.attribution + `
  WHERE conversion_id = ` + conv + ` GROUP BY id
) AS e ON e.seen_id = d.id
WHERE CONCAT(d.id, '/', d.fingerprint) NOT IN (
  SELECT ` + versionKey + ` FROM ` + t.attribution + ` WHERE conversion_id = ` + conv + `);

DELETE FROM ` + t.attribution + `
WHERE conversion_id = ` + conv + `
  AND id IN (SELECT id FROM ` + t.staged + ` WHERE ARRAY_LENGTH(problems) = 0)
  AND ` + versionKey + ` NOT IN (` + t.chosenSQL() + `);

` + t.rejectStatement() + `;

COMMIT TRANSACTION;`
}

// rejectSQL copies the rejected rows alone: the job of a run that failed
// its rejected-share check and merges nothing.
func (t tables) rejectSQL() string { return t.rejectStatement() }

// rejectStatement copies the run's rejected rows, unless an earlier
// execution of the run already did.
//
// TODO: the guard reads run_id over the whole rejected-rows table, which
// grows with every run; bound it to recent rejected_at partitions (the
// run's own rows are written at its merge time) to keep its cost flat.
func (t tables) rejectStatement() string {
	cols := strings.ReplaceAll(stagedColumns, "fingerprint", "fingerprint, problems")
	return `INSERT INTO ` + t.rejected + ` (conversion_id, run_id, rejected_at, ` + cols + `)
SELECT CAST(@` + paramConversion + ` AS STRING), CAST(@` + paramRun + ` AS STRING), CURRENT_TIMESTAMP(),
  ` + cols + `
FROM ` + t.staged + `
WHERE ARRAY_LENGTH(problems) > 0
  AND CAST(@` + paramRun + ` AS STRING) NOT IN (SELECT run_id FROM ` + t.rejected + `)`
}
