-- Write target set {version} (see migrations 0031, 0032, 0052); re-writing the same set is harmless.
INSERT INTO health_targets (version, target, provider, model, probe_kinds, probe_interval,
                            degraded_error_rate, unhealthy_error_rate, latency_p99, ttft_p99,
                            min_requests, ratelimit_exhaustion, pool, kind_intervals)
SELECT {version:UInt64}, t.1, t.2, t.3, t.4, t.5, t.6, t.7, t.8, t.9, t.10, t.12, t.11, t.13
FROM (SELECT arrayJoin(arrayZip({targets:Array(String)}, {providers:Array(String)}, {models:Array(String)},
        {probe_kinds:Array(Array(String))}, {probe_intervals:Array(Float64)},
        {degraded_error_rate:Array(Float64)}, {unhealthy_error_rate:Array(Float64)},
        {latency_p99:Array(Float64)}, {ttft_p99:Array(Float64)}, {min_requests:Array(UInt32)},
        {pools:Array(String)}, {ratelimit_exhaustion:Array(Float64)},
        {kind_intervals:Array(Map(String, Float64))})) AS t)
