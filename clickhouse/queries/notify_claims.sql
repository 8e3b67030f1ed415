-- Which of the notifications {ids} are claimed, by whom, and whether their delivery has ended
-- (a row with a status in {done}). The winner is the instance whose claim row (attempt 0) came
-- first by the store's clock (ties: the smaller instance id), so every notifier that reads the
-- same claims names the same one. `winner` is '' for an id with attempts but no claim.
SELECT id, argMinIf(instance, (at, instance), attempt = 0) AS winner,
       countIf(has({done:Array(String)}, status)) > 0 AS done
FROM health_notifications
WHERE id IN {ids:Array(String)}
GROUP BY id
