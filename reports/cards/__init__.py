"""The day page's chart cards: the view model of each chart (spec, caption, fallback table).

Each module turns mart rows into one card; `reports.charts` holds the chart templates they
fill, `reports.pages.day` puts the cards on the page.
"""
