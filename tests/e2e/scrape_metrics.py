#!/usr/bin/python3
"""Scrapes a Prometheus text endpoint and prints every sample, parsed by
prometheus_client's own parser (Debian's python3-prometheus-client), one per
line as: name<TAB>label=value,label=value (sorted)<TAB>value

    scrape_metrics.py http://127.0.0.1:9464/metrics

Exit 1 (with the reason on stderr) when the text does not parse: the test
that runs it then fails, so the exposition format is checked by a real
Prometheus parser, not by the server's own idea of it.
"""
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    if not content_type.startswith("text/plain"):
        sys.exit("unexpected Content-Type: " + content_type)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            print(f"{sample.name}\t{labels}\t{sample.value!r}")


if __name__ == "__main__":
    main()
