-- Run against the database you are about to replace, with psql -v since='<the
-- dump's start time>': prints one UPDATE per email sent since then (letters,
-- digests, confirmation emails). Run that output against the restored database,
-- before the worker starts, and nothing is sent twice (docs/deploy.md,
-- "Restoring safely"). A letter that becomes delivered or failed also adds one
-- to its signature's count of those (campaign/services/letter_counts.py), in
-- the same statement: the statuses it comes from are counted in neither.
\set QUIET on
SELECT CASE WHEN counter IS NULL THEN format(
  'UPDATE %I SET status = %L, sent_at = %L WHERE id = %s AND status IN (''pending'', ''sending'', ''awaiting_digest'');',
  tbl, status, sent_at, id)
ELSE format(
  'WITH moved AS (UPDATE %I SET status = %L, sent_at = %L WHERE id = %s AND status IN (''pending'', ''sending'', ''awaiting_digest'') RETURNING signature_id) UPDATE campaign_signature SET %I = %I + 1 WHERE id IN (SELECT signature_id FROM moved);',
  tbl, status, sent_at, id, counter, counter)
END
FROM (SELECT 'campaign_letter' AS tbl, id, status, sent_at,
             CASE WHEN status IN ('sent', 'digested') THEN 'letters_delivered'
                  WHEN status = 'failed' THEN 'letters_failed' END AS counter
      FROM campaign_letter
      UNION ALL SELECT 'campaign_digest', id, status, sent_at, NULL FROM campaign_digest
      UNION ALL SELECT 'campaign_confirmationemail', id, status, sent_at, NULL
                FROM campaign_confirmationemail) AS sent
WHERE sent_at >= :'since';
