"""Joins MovieLens-100K ratings with users and items into one CSV for the tabular benchmark (written
where you say, e.g. /tmp; never into the repository: the data's licence forbids redistribution).
Columns: item (the movie id), user_age (continuous), gender, occupation, zip, zip3 (first three digits), year (release
year, continuous), 19 genre flags, rating, click (rating >= 4). Rows are split by a seeded hash into
train (80%) and test (20%).
Usage: make_tabular.py DATA_DIR OUT_PREFIX -> OUT_PREFIX.train.csv, OUT_PREFIX.test.csv"""
import csv, sys, zlib

data, out = sys.argv[1], sys.argv[2]
users = {}
for line in open(f"{data}/u.user", encoding="latin-1"):
    uid, age, gender, occupation, zipcode = line.rstrip("\n").split("|")
    users[uid] = (age, gender, occupation, zipcode, zipcode[:3])
genres = [line.split("|")[0] for line in open(f"{data}/u.genre", encoding="latin-1") if line.strip()]
items = {}
for line in open(f"{data}/u.item", encoding="latin-1"):
    f = line.rstrip("\n").split("|")
    year = f[2][-4:] if len(f[2]) >= 4 else ""
    items[f[0]] = (year, f[5:24])
header = ["item", "user_age", "gender", "occupation", "zip", "zip3", "year"] + [f"g_{g.replace(' ', '_').replace(chr(39), '')}" for g in genres] + ["rating", "click"]
with open(f"{out}.train.csv", "w", newline="") as tr, open(f"{out}.test.csv", "w", newline="") as te:
    wt, we = csv.writer(tr), csv.writer(te)
    wt.writerow(header)
    we.writerow(header)
    for line in open(f"{data}/u.data"):
        u, i, r, t = line.split("\t")
        age, gender, occupation, zipcode, zip3 = users[u]
        year, flags = items[i]
        row = [i, age, gender, occupation, zipcode, zip3, year] + flags + [r, "1" if int(r) >= 4 else "0"]
        (we if zlib.crc32(f"{u}-{i}".encode()) % 5 == 0 else wt).writerow(row)
