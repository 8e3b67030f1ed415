-- One evaluated instant's cycle (migration 0049).
INSERT INTO health_cycles (evaluated_at, instance, targets, duration_ms, interval_s, backfill)
SELECT {at:DateTime64(3, 'UTC')}, {instance:String}, {targets:UInt32}, {duration_ms:Float64},
       {interval_s:Float64}, {backfill:Bool}
