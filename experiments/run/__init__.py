"""Running a sweep: the run directory (:mod:`.rundir`), atomic writes (:mod:`.files`), cells
and seeds (:mod:`.plan`), tasks, executors, one replicate, the runner and the tables."""
