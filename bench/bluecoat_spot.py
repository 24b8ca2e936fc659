"""
The yardstick for the proxy pipeline: Spot's per-line Blue Coat parse
(bluecoat.py's role, without Spark): each line not starting with a
YYYY-MM-DD date is skipped, the rest is split with shlex (quotes honoured,
tabs as blanks), the fields are reordered into the proxy table's columns,
fulluri = host + path + query, and the row is written tab-separated (what
Spot then loaded into Hive). Usage: python3 bench/bluecoat_spot.py IN OUT
"""
import re
import shlex
import sys

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# proxy table order -> input field position (SPOT-REFERENCE)
ORDER = [0, 1, 3, 15, 12, 20, 13, 2, 4, 5, 6, 7, 8, 9, 10, 11, 14, 16, 17, 18, 19, 21, 22, 23, 24, 25, 26]


def parse(line):
    if not DATE.match(line):
        return None
    fields = shlex.split(line.replace("\t", " "))
    if len(fields) < 27:
        return None
    row = [fields[i] for i in ORDER]
    host, path, query = fields[15], fields[17], fields[18]
    row.append(host + (path if len(path) > 1 else "") + (query if len(query) > 1 else ""))
    return row


def main():
    rows = 0
    with open(sys.argv[1], encoding="utf-8", errors="replace") as src, open(sys.argv[2], "w", encoding="utf-8") as out:
        for line in src:
            row = parse(line.rstrip("\n"))
            if row is not None:
                out.write("\t".join(row) + "\n")
                rows += 1
    print(rows)


if __name__ == "__main__":
    main()
