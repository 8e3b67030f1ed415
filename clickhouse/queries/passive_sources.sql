-- The request sources of applications' requests (service, provider, model, server) and the
-- error.type values they sent, among the points stored in ({read_from}, {at}]: what
-- aggregator/passive_match.py matches to targets and aggregator/passive_outcome.py maps onto
-- outcomes before the windows and the passive rollups are evaluated at {at}.
SELECT source, any(service) AS service, any(provider) AS provider, any(model) AS model,
       any(server_address) AS server_address, any(server_port) AS server_port,
       groupUniqArray(toString(error_type)) AS error_types
FROM health_passive_points
WHERE inserted_at > {read_from:DateTime64(3, 'UTC')} AND inserted_at <= {at:DateTime64(3, 'UTC')}
GROUP BY source
