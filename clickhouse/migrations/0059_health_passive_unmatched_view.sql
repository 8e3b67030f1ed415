-- Applications' requests that no target claims, over the last 24 hours (this hour and the 23
-- before): `SELECT * FROM health_passive_unmatched`. `candidates` names the targets a request
-- could count for when it did not say which server it called (several matched: it counts for
-- none until a `passive:` selector settles it); empty when no target matches at all.
CREATE VIEW IF NOT EXISTS health_passive_unmatched AS
SELECT service, provider, model, server,
       sum(n) AS requests,
       sum(n - n_ok) AS errors,
       max(seen) AS last_seen,
       argMax(names, bucket) AS candidates
FROM (SELECT service, provider, model, server, bucket, requests AS n, ok AS n_ok, last_seen AS seen,
             candidates AS names
      FROM health_passive FINAL
      WHERE unit = 'hour' AND target = '' AND bucket >= toStartOfHour(now()) - INTERVAL 23 HOUR)
GROUP BY service, provider, model, server
ORDER BY requests DESC
