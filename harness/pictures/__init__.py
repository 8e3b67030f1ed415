"""Draw each Grafana dashboard of deploy/grafana/dashboards/ as one PNG, from the rows its
panels' queries return on a demo run: pictures of the panel data, not screenshots of Grafana.

matplotlib is not a dependency of llmhealth (nothing else needs it); install it into the
project's virtualenv before drawing:

    .venv/bin/pip install matplotlib==3.11.2

Then, from the repository root (after `make install` or `make test`, which install the test
dependencies this reuses):

    .venv/bin/python -m harness.pictures --out docs/img

It starts `llmhealth run` with the built-in demo in a temporary directory (on free ports, as
the tests do: harness.pipeline.running_pipeline), lets it collect `--minutes` of data (4 by
default), then runs every panel's and annotation's query of every dashboard as Grafana's user
`reader`, with the ClickHouse plugin's macros and Grafana's template variables expanded by the
same code as tests/embedded/test_dashboards.py (harness.grafana), stops the run and draws one
PNG per dashboard: panels placed by their gridPos on Grafana's 24-column grid, titled like
Grafana's panels, in Grafana's dark theme; stat panels as big numbers in their threshold or
mapping colour, tables as text tables (with their colour cells and gauges), time series as
line or bar charts (stacked where the panel stacks), state timelines as coloured bands,
annotations as markers.

Time range: a dashboard whose default range ends now (`now-1h` … `now`) is queried over the
demo run's own span instead (`--range demo`, the default), or else a few minutes of data
would be a sliver at the right edge; ranges in whole days (Probe cost) keep their default.
`--range dashboard` uses every dashboard's default range as Grafana would. Variables take
their first option (All where offered), as on a fresh dashboard; `--target` picks Model
detail's target instead.

`--save-data FILE` keeps the query results as JSON; `--from-data FILE` draws from such a file
without a demo run.

The modules: collect (the demo run and its query results), layout (the grid, header and
footer), canvas (the theme and the figure), fields (values, units, colours), and one drawer
per panel type: stat, table, timeseries, timeline (state timeline), with axes shared by the
last two.
"""
