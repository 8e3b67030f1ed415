-- Whether target set {version} is already written.
SELECT count() AS n FROM health_targets WHERE version = {version:UInt64}
