"""A seeded generator of small Text-to-SQL problems on SQLite databases of three tables.

Each database is one of a few domains (a shop, a school, a library): a table of people, a table
of things with a category and a number, and a link table with foreign keys to both and an
amount, filled with seeded rows. Questions come at four levels, each with its gold query and a
one-line plan: ``select`` (one table, WHERE), ``join`` (two or three tables), ``group`` (GROUP
BY with aggregates, HAVING) and ``order`` (ORDER BY, LIMIT). Every gold query is run while
generating: a question whose result is empty, or whose order is not unique (a tie at LIMIT),
is drawn again. The worked response is ``<plan>\\n#### <query>``.
"""
from __future__ import annotations

import random
import sqlite3

from pydantic import Field, model_validator

from ilr.core.params_section import Section

LEVELS = ("select", "join", "group", "order")
PEOPLE_NAMES = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas",
                "Kira", "Luca", "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara",
                "Umar", "Vera", "Wen", "Yusuf"]
CITIES = ["Lyon", "Porto", "Oslo", "Turin", "Ghent", "Cork", "Graz", "Bergen"]
DOMAINS = {
    "shop": dict(
        people="customers", person="customer", group_col="city", group_word="city",
        from_group="live in {g}", things="products", thing="product", name_col="name",
        cat_col="category", cat_word="category", num_col="price", num_word="price",
        num_above="cost more than {n}", top_k="the {k} most expensive products",
        ascending="from cheapest to most expensive", descending="from most to least expensive",
        link="orders", verb="ordered", pfk="customer_id", tfk="product_id",
        amount_col="quantity", agg="SUM", amount_phrase="the total quantity ordered",
        names=["lamp", "kettle", "backpack", "scarf", "puzzle", "blender", "notebook",
               "umbrella", "candle", "mug", "helmet", "jacket"],
        categories=["home", "kitchen", "outdoor", "toys", "clothing"],
        num_range=(5, 300), amount_range=(1, 9)),
    "school": dict(
        people="students", person="student", group_col="hometown", group_word="hometown",
        from_group="come from {g}", things="courses", thing="course", name_col="title",
        cat_col="subject", cat_word="subject", num_col="credits", num_word="credits",
        num_above="are worth more than {n} credits", top_k="the {k} courses worth the most credits",
        ascending="from fewest to most credits", descending="from most to fewest credits",
        link="enrollments", verb="enrolled in", pfk="student_id", tfk="course_id",
        amount_col="grade", agg="AVG", amount_phrase="the average grade",
        names=["Algebra", "Biology", "Chemistry", "Drawing", "Economics", "French", "Geometry",
               "History", "Music", "Physics", "Poetry", "Statistics"],
        categories=["math", "science", "arts", "languages", "humanities"],
        num_range=(1, 15), amount_range=(40, 100)),
    "library": dict(
        people="members", person="member", group_col="city", group_word="city",
        from_group="live in {g}", things="books", thing="book", name_col="title",
        cat_col="genre", cat_word="genre", num_col="pages", num_word="page count",
        num_above="have more than {n} pages", top_k="the {k} longest books",
        ascending="from shortest to longest", descending="from longest to shortest",
        link="loans", verb="borrowed", pfk="member_id", tfk="book_id",
        amount_col="days", agg="SUM", amount_phrase="the total number of loan days",
        names=["Dune", "Emma", "Ulysses", "Beloved", "Hamlet", "Walden", "Matilda",
               "Persuasion", "Frankenstein", "Dracula", "Middlemarch", "Rebecca"],
        categories=["novel", "drama", "poetry", "horror", "essay"],
        num_range=(90, 900), amount_range=(1, 30)),
}


class SqlSpec(Section):
    """Knobs of the embedded generator (``task.sql.embedded`` in params)."""
    domains: list[str] = Field(default_factory=lambda: list(DOMAINS))
    levels: list[str] = Field(default_factory=lambda: list(LEVELS))
    n_databases: int = 6  # per split; each a domain with its own seeded rows

    @model_validator(mode="after")
    def _check(self):
        bad = [d for d in self.domains if d not in DOMAINS]
        if bad or not self.domains:
            raise ValueError(f"task.sql.embedded.domains: unknown {bad or 'empty list'}; "
                             f"allowed {list(DOMAINS)}")
        bad = [lv for lv in self.levels if lv not in LEVELS]
        if bad or not self.levels:
            raise ValueError(f"task.sql.embedded.levels: unknown {bad or 'empty list'}; "
                             f"allowed {list(LEVELS)}")
        if self.n_databases < 1:
            raise ValueError(f"task.sql.embedded.n_databases must be >= 1, got {self.n_databases}")
        return self


def make_database(rng: random.Random, domain: str, *, name: str) -> dict:
    """A database of ``domain``: 8 people, 8 things (distinct numbers), 20 links."""
    d = DOMAINS[domain]
    cities = rng.sample(CITIES, 4)
    categories = rng.sample(d["categories"], 3)
    lo, hi = d["num_range"]
    people = [[i + 1, n, rng.choice(cities)] for i, n in enumerate(rng.sample(PEOPLE_NAMES, 8))]
    things = [[i + 1, n, rng.choice(categories), v] for i, (n, v) in enumerate(
        zip(rng.sample(d["names"], 8), rng.sample(range(lo, hi + 1), 8)))]
    links = [[i + 1, rng.randint(1, 8), rng.randint(1, 8), rng.randint(*d["amount_range"])]
             for i in range(20)]
    return {"name": name, "tables": [
        {"name": d["people"], "columns": [["id", "INTEGER PRIMARY KEY"], ["name", "TEXT"],
                                          [d["group_col"], "TEXT"]], "rows": people},
        {"name": d["things"], "columns": [["id", "INTEGER PRIMARY KEY"], [d["name_col"], "TEXT"],
                                          [d["cat_col"], "TEXT"], [d["num_col"], "INTEGER"]],
         "rows": things},
        {"name": d["link"], "columns": [
            ["id", "INTEGER PRIMARY KEY"], [d["pfk"], f"INTEGER REFERENCES {d['people']}(id)"],
            [d["tfk"], f"INTEGER REFERENCES {d['things']}(id)"], [d["amount_col"], "INTEGER"]],
         "rows": links}]}


def describe_schema(db: dict) -> str:
    """One line per table, ``orders(id, customer_id -> customers.id, quantity)``."""
    lines = []
    for table in db["tables"]:
        cols = []
        for col, kind in table["columns"]:
            ref = kind.split("REFERENCES ")[1].replace("(", ".").rstrip(")") \
                if "REFERENCES" in kind else None
            cols.append(f"{col} -> {ref}" if ref else col)
        lines.append(f"{table['name']}({', '.join(cols)})")
    return "\n".join(lines)


def render_prompt(schema: str, question: str) -> str:
    return f"Database tables:\n{schema}\nQuestion: {question}\nAnswer with one SQLite query."


def _join_people(d) -> str:
    return f"{d['link']} JOIN {d['people']} ON {d['link']}.{d['pfk']} = {d['people']}.id"


def _join_things(d) -> str:
    return f"{d['link']} JOIN {d['things']} ON {d['link']}.{d['tfk']} = {d['things']}.id"


def draw_question(rng: random.Random, level: str, domain: str, db: dict) -> tuple:
    """``(question, gold sql, plan, sort-key sql or None, limit or None)`` for one template."""
    d = {**DOMAINS[domain]}
    people, things, _ = (t["rows"] for t in db["tables"])
    P, T, L = d["people"], d["things"], d["link"]
    g = rng.choice(people)[2]
    c = rng.choice(things)[2]
    nums = sorted(t[3] for t in things)
    n = rng.randint(nums[0], nums[-2])
    k = rng.randint(2, 4)
    pick = rng.randrange(3 if level == "select" else 4)
    if level == "select":
        return [
            (f"List the names of the {P} who {d['from_group'].format(g=g)}.",
             f"SELECT name FROM {P} WHERE {d['group_col']} = '{g}'",
             f"Filter {P} on {d['group_col']}.", None, None),
            (f"Which {T} {d['num_above'].format(n=n)}?",
             f"SELECT {d['name_col']} FROM {T} WHERE {d['num_col']} > {n}",
             f"Filter {T} on {d['num_col']}.", None, None),
            (f"How many {T} are in the {d['cat_word']} {c}?",
             f"SELECT COUNT(*) FROM {T} WHERE {d['cat_col']} = '{c}'",
             f"Count the {T} with {d['cat_col']} '{c}'.", None, None)][pick]
    if level == "join":
        person = rng.choice(people)[1]
        return [
            (f"Which {P} {d['verb']} a {d['thing']} in the {d['cat_word']} {c}?",
             f"SELECT DISTINCT {P}.name FROM {_join_people(d)} JOIN {T} ON {L}.{d['tfk']} = "
             f"{T}.id WHERE {T}.{d['cat_col']} = '{c}'",
             f"Join {L} with {P} and {T}, filter on {d['cat_col']}.", None, None),
            (f"List the {T} that {person} {d['verb']}.",
             f"SELECT DISTINCT {T}.{d['name_col']} FROM {_join_things(d)} JOIN {P} ON "
             f"{L}.{d['pfk']} = {P}.id WHERE {P}.name = '{person}'",
             f"Join {L} with {T} and {P}, filter on the {d['person']}'s name.", None, None),
            (f"How many {L} were made by {P} who {d['from_group'].format(g=g)}?",
             f"SELECT COUNT(*) FROM {_join_people(d)} WHERE {P}.{d['group_col']} = '{g}'",
             f"Join {L} with {P}, filter on {d['group_col']}, count.", None, None),
            (f"Which {P} {d['verb']} {T} that {d['num_above'].format(n=n)}?",
             f"SELECT DISTINCT {P}.name FROM {_join_people(d)} JOIN {T} ON {L}.{d['tfk']} = "
             f"{T}.id WHERE {T}.{d['num_col']} > {n}",
             f"Join {L} with {P} and {T}, filter on {d['num_col']}.", None, None)][pick]
    if level == "group":
        return [
            (f"What is the average {d['num_word']} of the {T} in each {d['cat_word']}?",
             f"SELECT {d['cat_col']}, AVG({d['num_col']}) FROM {T} GROUP BY {d['cat_col']}",
             f"Group {T} by {d['cat_col']}, average {d['num_col']}.", None, None),
            (f"For each {d['cat_word']}, how many {T} {d['num_above'].format(n=n)}?",
             f"SELECT {d['cat_col']}, COUNT(*) FROM {T} WHERE {d['num_col']} > {n} "
             f"GROUP BY {d['cat_col']}",
             f"Filter {T} on {d['num_col']}, group by {d['cat_col']}, count.", None, None),
            (f"Which {d['group_word']}s have more than {k - 1} {L}?",
             f"SELECT {P}.{d['group_col']} FROM {_join_people(d)} GROUP BY {P}.{d['group_col']} "
             f"HAVING COUNT(*) > {k - 1}",
             f"Join {L} with {P}, group by {d['group_col']}, keep counts above {k - 1}.",
             None, None),
            (f"What is {d['amount_phrase']} of each {d['thing']} in the {d['cat_word']} {c}?",
             f"SELECT {T}.{d['name_col']}, {d['agg']}({L}.{d['amount_col']}) FROM "
             f"{_join_things(d)} WHERE {T}.{d['cat_col']} = '{c}' GROUP BY {T}.{d['name_col']}",
             f"Join {L} with {T}, filter on {d['cat_col']}, group by {d['name_col']}.",
             None, None)][pick]
    return [
        (f"List {d['top_k'].format(k=k)}.",
         f"SELECT {d['name_col']} FROM {T} ORDER BY {d['num_col']} DESC LIMIT {k}",
         f"Sort {T} by {d['num_col']}, highest first, keep {k}.",
         f"SELECT {d['num_col']} FROM {T} ORDER BY {d['num_col']} DESC", k),
        (f"List the {T} in the {d['cat_word']} {c}, {d['ascending']}.",
         f"SELECT {d['name_col']} FROM {T} WHERE {d['cat_col']} = '{c}' ORDER BY {d['num_col']}",
         f"Filter {T} on {d['cat_col']}, sort by {d['num_col']}.",
         f"SELECT {d['num_col']} FROM {T} WHERE {d['cat_col']} = '{c}'", None),
        (f"List the {T} that {d['num_above'].format(n=n)}, {d['descending']}.",
         f"SELECT {d['name_col']} FROM {T} WHERE {d['num_col']} > {n} ORDER BY {d['num_col']} DESC",
         f"Filter {T} on {d['num_col']}, sort by {d['num_col']}, highest first.",
         f"SELECT {d['num_col']} FROM {T} WHERE {d['num_col']} > {n}", None),
        (f"Which {k - 1} {P} have the most {L}?" if k > 2 else
         f"Which {d['person']} has the most {L}?",
         f"SELECT {P}.name FROM {_join_people(d)} GROUP BY {P}.id ORDER BY COUNT(*) DESC "
         f"LIMIT {k - 1}",
         f"Join {L} with {P}, group by {d['person']}, sort by count, keep {k - 1}.",
         f"SELECT COUNT(*) FROM {_join_people(d)} GROUP BY {P}.id ORDER BY COUNT(*) DESC",
         k - 1)][pick]


def order_is_unique(keys: list, limit: int | None) -> bool:
    """Whether sorting by ``keys`` (and cutting at ``limit``) gives one answer: no tie."""
    if limit is None:
        return len(set(keys)) == len(keys)
    return len(keys) > limit and keys[limit - 1] != keys[limit]


def fill_memory_database(db: dict) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    for table in db["tables"]:
        conn.execute(f"CREATE TABLE {table['name']} "
                     f"({', '.join(f'{c} {t}' for c, t in table['columns'])})")
        conn.executemany(f"INSERT INTO {table['name']} VALUES "
                         f"({', '.join('?' * len(table['columns']))})", table["rows"])
    return conn


def generate_sql_records(spec: SqlSpec, *, n: int, seed: int, split: str,
                         exclude: set[str] = frozenset()) -> list[dict]:
    """``n`` problems with distinct prompts (none in ``exclude``), ids ``sql-<split>-00000``,
    on ``spec.n_databases`` databases of this split (each record carries its database)."""
    rng = random.Random(f"sql/{seed}/{split}")
    dbs = [(spec.domains[i % len(spec.domains)],
            make_database(random.Random(f"sql/{seed}/{split}/db{i}"),
                          spec.domains[i % len(spec.domains)], name=f"{split}-{i}"))
           for i in range(spec.n_databases)]
    conns = [fill_memory_database(db) for _, db in dbs]
    records, seen, attempts = [], set(exclude), 0
    while len(records) < n:
        attempts += 1
        if attempts > 200 * n + 1000:
            raise ValueError(f"task.sql.embedded: cannot make {n} distinct problems for {split}; "
                             "lower task.n_train/n_test/n_supervisor or add domains")
        i = rng.randrange(len(dbs))
        domain, db = dbs[i]
        level = rng.choice(spec.levels)
        question, sql, plan, key_sql, limit = draw_question(rng, level, domain, db)
        prompt = render_prompt(describe_schema(db), question)
        if prompt in seen or not conns[i].execute(sql).fetchall():
            continue
        if key_sql and not order_is_unique([r[0] for r in conns[i].execute(key_sql)], limit):
            continue
        seen.add(prompt)
        records.append({"id": f"sql-{split}-{len(records):05d}", "prompt": prompt,
                        "response": f"{plan}\n#### {sql}", "answer": sql, "level": level,
                        "db": db})
    for conn in conns:
        conn.close()
    return records
