"""The statements of import_postcodes (services/postcode_imports.py): the
normalising of the staging rows and the writing of a generation's rows. Only the
patterns' constants are formatted in (campaign/postcodes.py), never a value from
the file; %PC%, %AREA% and %TABLE% are names of our own making."""

from campaign.postcodes import (
    DISTRICT,
    DISTRICT_PATTERN,
    SECTOR,
    SECTOR_PATTERN,
    UNIT,
    UNIT_PATTERN,
)

# The staging rows, normalised: `key` is the canonical form (campaign/postcodes.py)
# or NULL when the postcode is not one; `lvl` its level.
NORMALISE = f"""
CREATE TEMP TABLE qp_postcode_rows ON COMMIT DROP AS
SELECT n, raw, code, lvl, CASE lvl
    WHEN {UNIT} THEN left(compact, -3) || ' ' || right(compact, 3)
    WHEN {SECTOR} THEN left(compact, -1) || ' ' || right(compact, 1)
    WHEN {DISTRICT} THEN compact END AS key
FROM (
  -- CASE stops at the first match: one regular expression for most rows.
  SELECT n, raw, code, compact, CASE
      WHEN compact ~ '{UNIT_PATTERN}' THEN {UNIT}
      WHEN upper(regexp_replace(raw, '\\s+', ' ', 'g')) ~ '{SECTOR_PATTERN}'
        THEN {SECTOR}
      WHEN compact ~ '{DISTRICT_PATTERN}' THEN {DISTRICT} END AS lvl
  FROM (
    SELECT n, btrim(%PC%) AS raw, btrim(%AREA%) AS code,
           upper(replace(btrim(%PC%), ' ', '')) AS compact
    FROM qp_postcode_staging
  ) t
  WHERE raw <> '' AND code <> ''
  OFFSET 0  -- lvl computed once per row, not once per mention above
) l
"""  # noqa: S608

DROP = "DROP TABLE IF EXISTS qp_postcode_staging, qp_postcode_rows"

# Every level below the finest is derived: a sector's areas are its postcodes'.
INSERT = f"""
INSERT INTO %TABLE% (dataset_id, generation, postcode, area_id)
SELECT %(dataset)s, %(generation)s, k, a.id FROM (
    SELECT DISTINCT key AS k, code FROM qp_postcode_rows WHERE lvl = {UNIT}
  UNION ALL
    SELECT DISTINCT CASE lvl WHEN {UNIT} THEN left(key, -2) ELSE key END, code
    FROM qp_postcode_rows WHERE lvl <= {SECTOR}
  UNION ALL
    SELECT DISTINCT split_part(key, ' ', 1), code FROM qp_postcode_rows
) u JOIN campaign_area a ON a.code = u.code
"""  # noqa: S608


# The partitions of generations no dataset reads any more (an uncommitted
# import's new partition is not attached yet for anyone else).
UNUSED = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'campaign_postcodearea'::regclass
  AND c.relname ~ '^campaign_postcodearea_g[0-9]+$'
  AND NOT EXISTS (SELECT 1 FROM campaign_postcodedataset d
                  WHERE 'campaign_postcodearea_g' || d.generation = c.relname)
ORDER BY c.relname
"""
