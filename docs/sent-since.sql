-- Run against the database you are about to replace, with psql -v since='<the
-- dump's start time>': prints one UPDATE per email sent since then (letters,
-- digests, confirmation emails). Run that output against the restored database,
-- before the worker starts, and nothing is sent twice (docs/deploy.md,
-- "Restoring safely").
\set QUIET on
SELECT format(
  'UPDATE %I SET status = %L, sent_at = %L WHERE id = %s AND status IN (''pending'', ''sending'', ''awaiting_digest'');',
  tbl, status, sent_at, id)
FROM (SELECT 'campaign_letter' AS tbl, id, status, sent_at FROM campaign_letter
      UNION ALL SELECT 'campaign_digest', id, status, sent_at FROM campaign_digest
      UNION ALL SELECT 'campaign_confirmationemail', id, status, sent_at
                FROM campaign_confirmationemail) AS sent
WHERE sent_at >= :'since';
