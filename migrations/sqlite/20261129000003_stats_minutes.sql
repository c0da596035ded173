-- MySQL indexes the minutes a report counts by (see migrations/mysql). SQLite needs nothing:
-- its reports count in one pass with the `tally` aggregate. The version stays the same on both.
SELECT 1;
