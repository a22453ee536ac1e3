"""`simulate --population N` and `compare --population N`: virtual patients like this one.

Every output format carries the model's verification status and every UNVERIFIED, code-only or
assumed entry ("marks"), so a clinician sees them next to the numbers (the core computes in
ketadose/simulation.py; the documents are render/documents/population.py and comparison.py).
"""

from __future__ import annotations

from ketadose.render.data import to_csv, to_json
from ketadose.render.diag import output


def write_plot(plot, run):
    """Through the CLI's one writer (as `simulate --plot`): regular files, --force to replace."""
    from ketadose.commands.simulate import write_chart
    from ketadose.pk import chart
    from ketadose.render.simulation import chart_marks

    res, title, marks = run.result, run.title, chart_marks(run)
    write_chart(plot, lambda fh: fh.write(chart.svg_band_chart(res.t_h, res.ketamine, title,
                                                                res.norketamine, marks)),
                lambda fh: chart.png_band_chart(fh, res.t_h, res.ketamine, title, res.norketamine,
                                                marks))


def run_population(plan, src, model, n, seed, resolution, f, ka, fmt, plot) -> int:
    from ketadose.simulation import population

    run = population(plan, src.sha256, model, n, seed, resolution, f, ka)
    if plot:
        write_plot(plot, run)
    if fmt == "json":
        from ketadose.render.documents.population import document

        output().write(to_json(document(run)))
    elif fmt == "csv":
        from ketadose.render.documents.population import csv_table

        rows, cols = csv_table(run)
        output().write(to_csv(rows, cols))
    else:
        from ketadose.render.simulation import population_tables

        population_tables(run, output())
    return 0


def run_compare_population(plans, n, seed, fmt, explain=False, plot=None) -> int:
    from ketadose.simulation import population_comparison

    result = population_comparison(plans, n, seed, explain=explain)
    if plot:
        from ketadose.commands.simulate import plot_comparison

        plot_comparison(plot, result)
    if fmt in ("json", "yaml"):
        from ketadose.render.data import write_document
        from ketadose.render.documents.comparison import population_document

        write_document(population_document(result), output(), fmt)
    elif fmt == "csv":
        from ketadose.render.documents.comparison import population_csv_rows

        output().write(to_csv(*population_csv_rows(result)))
    else:
        from ketadose.render.comparison import population_comparison_table

        population_comparison_table(result, output())
    return 0
