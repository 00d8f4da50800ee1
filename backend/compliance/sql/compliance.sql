-- Compliance rules as set-based SQL over the whole province (or the part a change touches).
--
-- Every statement is named by a "-- name:" line and loaded by backend.compliance.service.
-- All values are bound: :as_of (date), :version (standards version), :threshold (idle days),
-- :coefficient_min (ratio) and the target arrays :floors, :agencies, :persons, :buildings
-- (NULL = the whole province). Each rule inserts candidate findings into the temporary
-- table cf_new; the merge statements then update, open and close compliance_findings.
--
-- "Now" means at :as_of: an occupancy, lease or approved use is active on :as_of when
-- officemap_active_on(start_date, end_date, :as_of) (backend/timekeeping.py: the half-open
-- [start_date, end_date), end_date being the day vacated); the person is in post when
-- left_post_on is NULL or after :as_of. Areas compare as stored: usable_area_m2 is already
-- rounded half-up to 0.01 m².

-- name: create_new
CREATE TEMP TABLE IF NOT EXISTS cf_new (
    rule_code text NOT NULL,
    object_type text NOT NULL,
    object_id text NOT NULL,
    room_id bigint,
    floor_id int,
    building_id int,
    agency_id int,
    region_adcode int,
    measured numeric,
    allowed numeric,
    excess_m2 numeric,
    excess_pct numeric,
    details jsonb
) ON COMMIT DROP;  -- per transaction: a pooled connection must not keep one owned by another role
TRUNCATE cf_new;

-- name: office_over_standard
-- Rule 1. Shared offices: the room's usable area against the SUM of its in-post occupants'
-- allowances (agency level x rank). A room with an occupant whose allowance is not
-- configured (e.g. township ranks without a provincial table) is not judged.
INSERT INTO cf_new
WITH use AS (
    SELECT o.room_id,
           count(*) AS occupants,
           count(a.max_usable_m2) AS configured,
           sum(a.max_usable_m2) AS allowed
    FROM occupancies o
    JOIN agencies ag ON ag.id = o.agency_id
    LEFT JOIN standard_office_allowances a
           ON a.version = :version AND a.agency_level = ag.level AND a.rank_code = o.rank_code
    JOIN rooms r ON r.id = o.room_id
    WHERE officemap_active_on(o.start_date, o.end_date, :as_of)
      AND (o.left_post_on IS NULL OR o.left_post_on > :as_of)
      AND (CAST(:floors AS int[]) IS NULL OR r.floor_id = ANY(CAST(:floors AS int[])))
    GROUP BY o.room_id
)
SELECT 'office_over_standard', 'room', r.id::text, r.id, r.floor_id, r.building_id,
       r.agency_id, r.region_adcode,
       r.usable_area_m2, u.allowed,
       r.usable_area_m2 - u.allowed,
       round(100 * (r.usable_area_m2 - u.allowed) / u.allowed, 2),
       jsonb_build_object(
           'unit', 'm2',
           'rule', 'usable area > sum of occupants'' allowances (shared offices share the sum)',
           'occupants', (
               SELECT jsonb_agg(jsonb_build_object(
                          'person_id', o.person_id, 'name', o.person_name,
                          'rank_code', o.rank_code, 'allowance_m2', a.max_usable_m2)
                      ORDER BY o.id)
               FROM occupancies o
               JOIN agencies ag ON ag.id = o.agency_id
               LEFT JOIN standard_office_allowances a
                      ON a.version = :version AND a.agency_level = ag.level
                     AND a.rank_code = o.rank_code
               WHERE o.room_id = r.id AND officemap_active_on(o.start_date, o.end_date, :as_of)
                 AND (o.left_post_on IS NULL OR o.left_post_on > :as_of)))
FROM use u
JOIN rooms r ON r.id = u.room_id
JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
WHERE u.configured = u.occupants AND r.usable_area_m2 > u.allowed;

-- name: office_over_standard_unconfigured
SELECT count(DISTINCT o.room_id)
FROM occupancies o
JOIN agencies ag ON ag.id = o.agency_id
JOIN rooms r ON r.id = o.room_id
JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
LEFT JOIN standard_office_allowances a
       ON a.version = :version AND a.agency_level = ag.level AND a.rank_code = o.rank_code
WHERE officemap_active_on(o.start_date, o.end_date, :as_of)
  AND (o.left_post_on IS NULL OR o.left_post_on > :as_of)
  AND a.max_usable_m2 IS NULL
  AND (CAST(:floors AS int[]) IS NULL OR r.floor_id = ANY(CAST(:floors AS int[])));

-- name: agency_over_approved
-- Rule 2. An agency's office rooms (category 'office', current floors) against its approved
-- area (核定面积) where one is recorded, else sum(staffing quota x allowance) per rank.
-- Other categories have no per-person table in the 2014 standard: not judged.
INSERT INTO cf_new
WITH office AS (
    SELECT r.agency_id, sum(r.usable_area_m2) AS area, count(*) AS rooms
    FROM rooms r
    JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
    WHERE r.category = 'office' AND r.agency_id IS NOT NULL
      AND (CAST(:agencies AS int[]) IS NULL OR r.agency_id = ANY(CAST(:agencies AS int[])))
      AND NOT EXISTS (SELECT 1 FROM buildings b
                      WHERE b.id = r.building_id AND b.status = 'disposed')
    GROUP BY r.agency_id
), quota AS (
    SELECT s.agency_id,
           sum(s.quota * a.max_usable_m2) AS allowed,
           bool_and(a.max_usable_m2 IS NOT NULL) AS configured,
           jsonb_object_agg(s.rank_code, jsonb_build_object(
               'quota', s.quota, 'allowance_m2', a.max_usable_m2)) AS by_rank
    FROM agency_staffing s
    JOIN agencies ag ON ag.id = s.agency_id
    LEFT JOIN standard_office_allowances a
           ON a.version = :version AND a.agency_level = ag.level AND a.rank_code = s.rank_code
    WHERE (CAST(:agencies AS int[]) IS NULL OR s.agency_id = ANY(CAST(:agencies AS int[])))
    GROUP BY s.agency_id
), judged AS (
    SELECT ag.id, ag.region_adcode, o.area, o.rooms, q.by_rank,
           CASE WHEN ag.approved_office_area_m2 IS NOT NULL THEN ag.approved_office_area_m2
                WHEN q.configured THEN q.allowed END AS allowed,
           CASE WHEN ag.approved_office_area_m2 IS NOT NULL THEN 'approved_office_area'
                ELSE 'staffing_quota_x_allowance' END AS basis
    FROM office o
    JOIN agencies ag ON ag.id = o.agency_id
    LEFT JOIN quota q ON q.agency_id = o.agency_id
)
SELECT 'agency_over_approved', 'agency', j.id::text, NULL, NULL, NULL, j.id, j.region_adcode,
       j.area, j.allowed, j.area - j.allowed,
       CASE WHEN j.allowed > 0 THEN round(100 * (j.area - j.allowed) / j.allowed, 2) END,
       jsonb_build_object('unit', 'm2', 'basis', j.basis, 'office_rooms', j.rooms,
                          'staffing', j.by_rank)
FROM judged j
WHERE j.allowed IS NOT NULL AND j.area > j.allowed;

-- name: agency_over_approved_unconfigured
SELECT count(*)
FROM agencies ag
WHERE ag.approved_office_area_m2 IS NULL
  AND (CAST(:agencies AS int[]) IS NULL OR ag.id = ANY(CAST(:agencies AS int[])))
  AND (NOT EXISTS (SELECT 1 FROM agency_staffing s WHERE s.agency_id = ag.id)
       OR EXISTS (SELECT 1 FROM agency_staffing s
                  LEFT JOIN standard_office_allowances a
                         ON a.version = :version AND a.agency_level = ag.level
                        AND a.rank_code = s.rank_code
                  WHERE s.agency_id = ag.id AND a.max_usable_m2 IS NULL))
  AND EXISTS (SELECT 1 FROM rooms r WHERE r.agency_id = ag.id AND r.category = 'office');

-- name: multiple_offices
-- Rule 3. One person (person_id) in post with offices in more than one room. An approved
-- concurrent-post office whose area is below the person's allowance is the one exception.
-- The main office is the earliest non-concurrent one; the others are the excess.
INSERT INTO cf_new
WITH held AS (
    SELECT DISTINCT ON (o.person_id, o.room_id)
           o.person_id, o.room_id, o.agency_id, o.is_concurrent_post, o.start_date,
           r.usable_area_m2, r.floor_id, r.building_id, r.region_adcode,
           a.max_usable_m2 AS allowance,
           (o.is_concurrent_post AND o.concurrent_approved AND a.max_usable_m2 IS NOT NULL
            AND r.usable_area_m2 < a.max_usable_m2) AS excepted
    FROM occupancies o
    JOIN rooms r ON r.id = o.room_id
    JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
    JOIN agencies ag ON ag.id = o.agency_id
    LEFT JOIN standard_office_allowances a
           ON a.version = :version AND a.agency_level = ag.level AND a.rank_code = o.rank_code
    WHERE o.person_id IS NOT NULL
      AND officemap_active_on(o.start_date, o.end_date, :as_of)
      AND (o.left_post_on IS NULL OR o.left_post_on > :as_of)
      AND (CAST(:persons AS text[]) IS NULL OR o.person_id = ANY(CAST(:persons AS text[])))
    ORDER BY o.person_id, o.room_id, o.is_concurrent_post, o.start_date
), ranked AS (
    SELECT h.*,
           row_number() OVER (PARTITION BY h.person_id
                              ORDER BY h.is_concurrent_post, h.start_date, h.room_id) AS nth,
           count(*) OVER (PARTITION BY h.person_id) AS offices
    FROM held h
    WHERE NOT h.excepted
), people AS (
    SELECT k.person_id,
           max(k.offices) AS offices,
           min(k.room_id) FILTER (WHERE k.nth = 1) AS main_room_id,
           min(k.agency_id) FILTER (WHERE k.nth = 1) AS main_agency_id,
           sum(k.usable_area_m2) FILTER (WHERE k.nth > 1) AS extra_m2,
           jsonb_agg(jsonb_build_object(
               'room_id', k.room_id, 'agency_id', k.agency_id,
               'usable_area_m2', k.usable_area_m2, 'concurrent_post', k.is_concurrent_post,
               'allowance_m2', k.allowance) ORDER BY k.nth) AS list
    FROM ranked k
    WHERE k.offices > 1
    GROUP BY k.person_id
)
SELECT 'multiple_offices', 'person', p.person_id,
       x.room_id, x.floor_id, x.building_id, p.main_agency_id, x.region_adcode,
       p.offices, 1, p.extra_m2, NULL,
       jsonb_build_object('unit', 'offices', 'main_room_id', p.main_room_id, 'offices', p.list)
FROM people p
JOIN ranked x ON x.person_id = p.person_id AND x.nth = 2;

-- name: office_not_recovered
-- Rule 4. The office is still held more than 1 month after a transfer or retirement
-- (left_post_on), or more than 2 months after leaving a concurrent post.
INSERT INTO cf_new
WITH held AS (
    SELECT o.*, r.usable_area_m2, r.floor_id, r.building_id, r.region_adcode,
           a.max_usable_m2 AS allowance,
           (o.is_concurrent_post OR o.left_post_reason = 'left_concurrent_post') AS concurrent,
           CASE WHEN o.is_concurrent_post OR o.left_post_reason = 'left_concurrent_post'
                THEN (o.left_post_on + interval '2 months')::date
                ELSE (o.left_post_on + interval '1 month')::date END AS deadline
    FROM occupancies o
    JOIN rooms r ON r.id = o.room_id
    JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
    JOIN agencies ag ON ag.id = o.agency_id
    LEFT JOIN standard_office_allowances a
           ON a.version = :version AND a.agency_level = ag.level AND a.rank_code = o.rank_code
    WHERE o.left_post_on IS NOT NULL
      AND o.left_post_on <= :as_of
      AND (o.end_date IS NULL OR o.end_date > :as_of)
      AND (CAST(:floors AS int[]) IS NULL OR r.floor_id = ANY(CAST(:floors AS int[])))
)
SELECT 'office_not_recovered', 'occupancy', h.id::text, h.room_id, h.floor_id, h.building_id,
       h.agency_id, h.region_adcode,
       :as_of - h.left_post_on, h.deadline - h.left_post_on,
       least(h.usable_area_m2, coalesce(h.allowance, h.usable_area_m2)),
       NULL,
       jsonb_build_object(
           'unit', 'days', 'person_id', h.person_id, 'name', h.person_name,
           'rank_code', h.rank_code, 'left_post_on', h.left_post_on,
           'reason', h.left_post_reason, 'deadline', h.deadline,
           'concurrent_post', h.concurrent, 'days_overdue', :as_of - h.deadline,
           'room_usable_area_m2', h.usable_area_m2)
FROM held h
WHERE :as_of > h.deadline;

-- name: idle
-- Rule 5. Office rooms with no active occupancy, approved use or lease. Idle since the last
-- use ended, else since the first version of the floor. A floor whose office rooms are all
-- idle, idle for longer than the threshold, is one idle_floor finding (its rooms are not
-- listed again); other rooms idle for longer than the threshold are idle_room findings.
INSERT INTO cf_new
WITH target_floors AS (
    SELECT f.id, f.building_id, f.level
    FROM floors f
    WHERE f.valid_to IS NULL
      AND (CAST(:floors AS int[]) IS NULL OR f.id = ANY(CAST(:floors AS int[])))
), first_version AS (
    SELECT t.id AS floor_id, (SELECT min(f2.valid_from) FROM floors f2
                              WHERE f2.building_id = t.building_id AND f2.level = t.level)::date
           AS since
    FROM target_floors t
), office AS (
    SELECT r.id, r.floor_id, r.building_id, r.agency_id, r.usable_area_m2, fv.since
    FROM rooms r
    JOIN first_version fv ON fv.floor_id = r.floor_id
    WHERE r.category = 'office'
), room_use AS (
    SELECT x.id,
           bool_or(x.active) AS active,
           max(x.ended) AS last_ended
    FROM (
        SELECT o.room_id AS id,
               officemap_active_on(o.start_date, o.end_date, :as_of) AS active,
               CASE WHEN o.end_date <= :as_of THEN o.end_date END AS ended
        FROM occupancies o JOIN office ON office.id = o.room_id
        UNION ALL
        SELECT u.room_id,
               officemap_active_on(u.start_date, u.end_date, :as_of),
               CASE WHEN u.end_date <= :as_of THEN u.end_date END
        FROM approved_uses u JOIN office ON office.id = u.room_id
        UNION ALL
        SELECT l.room_id,
               officemap_active_on(l.start_date, l.end_date, :as_of),
               CASE WHEN l.end_date <= :as_of THEN l.end_date END
        FROM leases l JOIN office ON office.id = l.room_id
    ) x
    GROUP BY x.id
), container_use AS (
    -- uses that cover a whole floor (approved use) or building (lease)
    SELECT t.id AS floor_id,
           bool_or(officemap_active_on(c.start_date, c.end_date, :as_of))
               AS active,
           max(CASE WHEN c.end_date <= :as_of THEN c.end_date END) AS last_ended
    FROM target_floors t
    JOIN (
        SELECT u.floor_id, NULL::int AS building_id, u.start_date, u.end_date
        FROM approved_uses u WHERE u.floor_id IS NOT NULL
        UNION ALL
        SELECT NULL, l.building_id, l.start_date, l.end_date
        FROM leases l WHERE l.building_id IS NOT NULL
    ) c ON c.floor_id = t.id OR c.building_id = t.building_id
    GROUP BY t.id
), rooms_state AS (
    SELECT o.*,
           coalesce(u.active, false) OR coalesce(c.active, false) AS in_use,
           greatest(o.since, u.last_ended, c.last_ended) AS idle_since
    FROM office o
    LEFT JOIN room_use u ON u.id = o.id
    LEFT JOIN container_use c ON c.floor_id = o.floor_id
), floor_state AS (
    SELECT s.floor_id, bool_or(s.in_use) AS in_use, max(s.idle_since) AS idle_since,
           count(*) AS office_rooms, sum(s.usable_area_m2) AS office_area
    FROM rooms_state s
    GROUP BY s.floor_id
), idle_floors AS (
    SELECT fs.*, f.building_id, b.region_adcode, b.agency_id,
           (SELECT sum(r.usable_area_m2) FROM rooms r WHERE r.floor_id = fs.floor_id) AS floor_area
    FROM floor_state fs
    JOIN floors f ON f.id = fs.floor_id
    JOIN buildings b ON b.id = f.building_id
    WHERE NOT fs.in_use AND :as_of - fs.idle_since > :threshold
)
SELECT 'idle_floor', 'floor', i.floor_id::text, NULL::bigint, i.floor_id, i.building_id,
       i.agency_id, i.region_adcode, :as_of - i.idle_since, CAST(:threshold AS int),
       i.floor_area, NULL::numeric,
       jsonb_build_object('unit', 'days', 'idle_since', i.idle_since,
                          'office_rooms', i.office_rooms, 'office_area_m2', i.office_area)
FROM idle_floors i
UNION ALL
SELECT 'idle_room', 'room', s.id::text, s.id, s.floor_id, s.building_id, s.agency_id,
       b.region_adcode, :as_of - s.idle_since, CAST(:threshold AS int), s.usable_area_m2,
       NULL::numeric,
       jsonb_build_object('unit', 'days', 'idle_since', s.idle_since)
FROM rooms_state s
JOIN buildings b ON b.id = s.building_id
WHERE NOT s.in_use AND :as_of - s.idle_since > :threshold
  AND NOT EXISTS (SELECT 1 FROM idle_floors i WHERE i.floor_id = s.floor_id);

-- name: unapproved_lease
-- Rule 6. Space rented out or lent, active at :as_of, without approval.
INSERT INTO cf_new
SELECT 'unapproved_lease', 'lease', l.id::text, l.room_id,
       coalesce(r.floor_id, NULL), coalesce(r.building_id, l.building_id),
       coalesce(l.agency_id, r.agency_id, b.agency_id), b.region_adcode,
       area.m2, 0, area.m2, NULL,
       jsonb_build_object('unit', 'm2', 'kind', l.kind, 'counterparty', l.counterparty,
                          'start_date', l.start_date, 'end_date', l.end_date,
                          'object', CASE WHEN l.room_id IS NOT NULL THEN 'room'
                                         ELSE 'building' END)
FROM leases l
LEFT JOIN rooms r ON r.id = l.room_id
JOIN buildings b ON b.id = coalesce(r.building_id, l.building_id)
CROSS JOIN LATERAL (
    SELECT CASE WHEN l.room_id IS NOT NULL THEN r.usable_area_m2
                ELSE (SELECT sum(r2.usable_area_m2) FROM rooms r2
                      JOIN floors f2 ON f2.id = r2.floor_id AND f2.valid_to IS NULL
                      WHERE r2.building_id = l.building_id) END AS m2
) area
WHERE NOT l.approved
  AND officemap_active_on(l.start_date, l.end_date, :as_of)
  AND (l.room_id IS NULL OR EXISTS (SELECT 1 FROM floors f
                                     WHERE f.id = r.floor_id AND f.valid_to IS NULL))
  AND (CAST(:buildings AS int[]) IS NULL
       OR coalesce(r.building_id, l.building_id) = ANY(CAST(:buildings AS int[])));

-- name: uncategorised
-- Rule 7d. Rooms of current floors without a space category.
INSERT INTO cf_new
SELECT 'data_quality.uncategorised', 'room', r.id::text, r.id, r.floor_id, r.building_id,
       r.agency_id, r.region_adcode, r.usable_area_m2, NULL, NULL, NULL,
       jsonb_build_object('unit', 'm2', 'number', r.number, 'category', r.category,
                          'subcategory', r.subcategory)
FROM rooms r
JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
WHERE (r.category IS NULL OR r.subcategory IS NULL)
  AND (CAST(:floors AS int[]) IS NULL OR r.floor_id = ANY(CAST(:floors AS int[])));

-- name: outside_floor
-- Rule 7b. Rooms not covered by their floor outline; the part outside (ellipsoidal m²,
-- rounded half-up) must reach 0.01 m² so that shared edges never count.
INSERT INTO cf_new
SELECT 'data_quality.outside_floor', 'room', x.id::text, x.id, x.floor_id, x.building_id,
       x.agency_id, x.region_adcode, x.outside_m2, 0, x.outside_m2, NULL,
       jsonb_build_object('unit', 'm2', 'number', x.number,
                          'room_usable_area_m2', x.usable_area_m2)
FROM (
    SELECT r.id, r.floor_id, r.building_id, r.agency_id, r.number, r.usable_area_m2,
           r.region_adcode,
           round(ST_Area(ST_Difference(r.geom, f.outline)::geography)::numeric, 2) AS outside_m2
    FROM rooms r
    JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
    WHERE f.outline IS NOT NULL
      AND NOT ST_CoveredBy(r.geom, f.outline)
      AND (CAST(:floors AS int[]) IS NULL OR r.floor_id = ANY(CAST(:floors AS int[])))
) x
WHERE x.outside_m2 >= 0.01;

-- name: overlap
-- Rule 7a. Pairs of rooms of one floor whose interiors overlap by at least 0.01 m².
INSERT INTO cf_new
SELECT 'data_quality.overlap', 'room_pair', x.a || ':' || x.b, x.a, x.floor_id, x.building_id,
       x.agency_id, x.region_adcode, x.overlap_m2, 0, x.overlap_m2, NULL,
       jsonb_build_object('unit', 'm2', 'room_ids', jsonb_build_array(x.a, x.b))
FROM (
    SELECT r1.id AS a, r2.id AS b, r1.floor_id, r1.building_id, r1.agency_id, bl.region_adcode,
           round(ST_Area(ST_Intersection(r1.geom, r2.geom)::geography)::numeric, 2)
               AS overlap_m2
    FROM rooms r1
    JOIN floors f ON f.id = r1.floor_id AND f.valid_to IS NULL
    -- pairs within one floor (OFFSET 0 keeps the planner on the floor_id index: the GiST
    -- index would also match the rooms of every storey stacked above and below)
    JOIN LATERAL (SELECT r.id, r.geom FROM rooms r
                  WHERE r.floor_id = r1.floor_id AND r.id > r1.id OFFSET 0) r2 ON true
    JOIN buildings bl ON bl.id = r1.building_id
    WHERE r2.geom && r1.geom AND ST_Intersects(r1.geom, r2.geom)
      AND ST_Relate(r1.geom, r2.geom, '2********')
      AND (CAST(:floors AS int[]) IS NULL OR r1.floor_id = ANY(CAST(:floors AS int[])))
) x
WHERE x.overlap_m2 >= 0.01;

-- name: usable_coefficient
-- Rule 7c. Floors whose usable-area coefficient (sum of room usable area / building area)
-- is below the configured minimum.
INSERT INTO cf_new
SELECT 'data_quality.usable_coefficient', 'floor', x.id::text, NULL, x.id, x.building_id,
       b.agency_id, b.region_adcode, x.coefficient, :coefficient_min, NULL, NULL,
       jsonb_build_object('unit', 'ratio', 'usable_area_m2', x.usable,
                          'building_area_m2', x.building_area_m2,
                          'shortfall_m2', round(:coefficient_min * x.building_area_m2 - x.usable, 2))
FROM (
    SELECT f.id, f.building_id, f.building_area_m2, sum(r.usable_area_m2) AS usable,
           round(sum(r.usable_area_m2) / f.building_area_m2, 4) AS coefficient
    FROM floors f
    JOIN rooms r ON r.floor_id = f.id
    WHERE f.valid_to IS NULL AND f.building_area_m2 > 0
      AND (CAST(:floors AS int[]) IS NULL OR f.id = ANY(CAST(:floors AS int[])))
    GROUP BY f.id
) x
JOIN buildings b ON b.id = x.building_id
WHERE x.coefficient < :coefficient_min;

-- name: drop_disposed
-- A disposed building has left the live register: nothing of it is a finding any more (the
-- merge then closes what it had; history and the disposal record keep it).
DELETE FROM cf_new n
USING buildings b
WHERE b.id = n.building_id AND b.status = 'disposed';

-- name: merge_update
-- A finding produced again is refreshed; a closure its ledger item had been proposed for
-- (below) is withdrawn.
WITH again AS (
    UPDATE rectifications r
    SET closure_proposed_at = NULL, closure_proposed_evaluation_id = NULL,
        version = r.version + 1, updated_at = :now
    FROM compliance_findings f2
    JOIN cf_new n2 ON n2.rule_code = f2.rule_code AND n2.object_type = f2.object_type
                  AND n2.object_id = f2.object_id
    WHERE r.finding_id = f2.id AND f2.status <> 'closed' AND r.closure_proposed_at IS NOT NULL
    RETURNING r.id
)
UPDATE compliance_findings f
SET room_id = n.room_id, floor_id = n.floor_id, building_id = n.building_id,
    agency_id = n.agency_id, region_adcode = n.region_adcode, measured = n.measured,
    allowed = n.allowed, excess_m2 = n.excess_m2, excess_pct = n.excess_pct,
    details = n.details, standard_version = :version, evaluated_at = :now,
    evaluation_id = :evaluation_id
FROM cf_new n
WHERE f.status <> 'closed' AND f.rule_code = n.rule_code AND f.object_type = n.object_type
  AND f.object_id = n.object_id;

-- name: merge_insert
INSERT INTO compliance_findings
    (rule_code, object_type, object_id, room_id, floor_id, building_id, agency_id,
     region_adcode, measured, allowed, excess_m2, excess_pct, standard_version, evaluated_at,
     status, details, first_seen_at, evaluation_id)
SELECT n.rule_code, n.object_type, n.object_id, n.room_id, n.floor_id, n.building_id,
       n.agency_id, n.region_adcode, n.measured, n.allowed, n.excess_m2, n.excess_pct,
       :version, :now, 'open', n.details, :now, :evaluation_id
FROM cf_new n
ON CONFLICT (rule_code, object_type, object_id) WHERE status <> 'closed' DO NOTHING;

-- name: merge_close
-- Findings of the evaluated target that the rules no longer produce are closed, except
-- those with an open item in the rectification ledger (整改台账): these are proposed for
-- closure and stay open until an inspector verifies them (销号).
WITH gone AS (
    SELECT f.id,
           EXISTS (SELECT 1 FROM rectifications r
                   WHERE r.finding_id = f.id AND r.status <> 'closed') AS ledgered
    FROM compliance_findings f
    WHERE f.status <> 'closed'
      AND f.rule_code = ANY(CAST(:rules AS text[]))
      AND (
          CAST(:floors AS int[]) IS NULL
          OR (f.rule_code IN ('office_over_standard', 'office_not_recovered', 'idle_room',
                              'idle_floor', 'data_quality.overlap', 'data_quality.outside_floor',
                              'data_quality.usable_coefficient', 'data_quality.uncategorised')
              AND f.floor_id = ANY(CAST(:floors AS int[])))
          OR (f.rule_code = 'agency_over_approved' AND f.agency_id = ANY(CAST(:agencies AS int[])))
          OR (f.rule_code = 'multiple_offices' AND f.object_id = ANY(CAST(:persons AS text[])))
          OR (f.rule_code = 'unapproved_lease' AND f.building_id = ANY(CAST(:buildings AS int[])))
      )
      AND NOT EXISTS (
          SELECT 1 FROM cf_new n
          WHERE n.rule_code = f.rule_code AND n.object_type = f.object_type
            AND n.object_id = f.object_id)
), proposed AS (
    UPDATE rectifications r
    SET closure_proposed_at = :now, closure_proposed_evaluation_id = :evaluation_id,
        version = r.version + 1, updated_at = :now
    FROM gone g
    WHERE r.finding_id = g.id AND g.ledgered AND r.status <> 'closed'
      AND r.closure_proposed_at IS NULL
    RETURNING r.id
)
UPDATE compliance_findings f
SET status = 'closed', closed_at = :now, evaluated_at = :now, evaluation_id = :evaluation_id,
    details = coalesce(f.details, '{}'::jsonb)
              || jsonb_build_object('closed_by', 're-evaluation', 'closed_version', CAST(:version AS text))
FROM gone g
WHERE f.id = g.id AND NOT g.ledgered;

-- name: proposed_for_closure
SELECT count(*) FROM rectifications WHERE closure_proposed_evaluation_id = :evaluation_id;

-- name: demo_has_uses
SELECT EXISTS (SELECT 1 FROM leases) OR EXISTS (SELECT 1 FROM approved_uses);

-- name: demo_leases
-- Demo only: vacant office rooms of generated buildings, picked deterministically by a hash
-- of their id; two in five rented out or lent without approval, one in five lent with
-- approval; plus the whole of one idle building lent without approval.
INSERT INTO leases (room_id, building_id, agency_id, kind, counterparty, approved, approval_ref,
                    start_date, end_date)
SELECT x.id, NULL::int, x.agency_id,
       CASE WHEN x.h % 2 = 0 THEN 'rent_out' ELSE 'lend' END,
       CASE WHEN x.h % 2 = 0 THEN '某商贸有限公司（演示）' ELSE '某协会（演示）' END,
       x.h % 5 = 4,
       CASE WHEN x.h % 5 = 4 THEN '机管〔2025〕' || (x.h % 90 + 10) || '号（演示）' END,
       CAST(:as_of AS date) - (60 + x.h % 400),
       NULL::date
FROM (
    SELECT r.id, r.agency_id, (hashtext('lease' || r.id) & 2147483647) AS h
    FROM rooms r
    JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
    JOIN buildings b ON b.id = r.building_id AND b.source = 'demo generator'
    WHERE r.category = 'office'
      AND NOT EXISTS (SELECT 1 FROM occupancies o WHERE o.room_id = r.id
                      AND (o.end_date IS NULL OR o.end_date > :as_of))
) x
WHERE x.h % 100 < 6 AND x.h % 5 IN (0, 1, 4)
UNION ALL
SELECT NULL::bigint, b.id, b.agency_id, 'lend', '某事业单位（演示）', false, NULL,
       CAST(:as_of AS date) - 200, NULL
FROM (SELECT id, agency_id FROM buildings WHERE status = 'idle' AND source = 'demo generator'
      ORDER BY id LIMIT 1) b;

-- name: demo_approved_uses
-- Demo only: some vacant office rooms are kept for an approved use (not idle).
INSERT INTO approved_uses (room_id, floor_id, purpose, approval_ref, start_date, end_date)
SELECT r.id, NULL::int, '临时档案整理用房（演示）', '机管〔2025〕7号（演示）',
       CAST(:as_of AS date) - 90, NULL::date
FROM rooms r
JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
JOIN buildings b ON b.id = r.building_id AND b.source = 'demo generator'
WHERE r.category = 'office'
  AND (hashtext('use' || r.id) & 2147483647) % 100 < 5
  AND NOT EXISTS (SELECT 1 FROM occupancies o WHERE o.room_id = r.id
                  AND (o.end_date IS NULL OR o.end_date > :as_of))
  AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.room_id = r.id);
