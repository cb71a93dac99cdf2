"""Build templates/plots.html: DVC's HTML page for `dvc plots show`, with the chart libraries
inline instead of loaded from a CDN, so the page renders offline.

    npm pack vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0   # in an empty folder
    for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
    python templates/build.py FOLDER                            # the folder of the unpacked packages

`.dvc/config` points `plots.html_template` at the result. The page keeps DVC's placeholders
`{plot_divs}` (the charts) and `{refresh_tag}` (`dvc plots show --open` refresh), and leaves out
`{scripts}`, where DVC would put its CDN `<script src>` tags.
"""
import re
import sys
from pathlib import Path

PACKAGES = {"vega": ("5.33.1", "build/vega.min.js"),
            "vega-lite": ("5.23.0", "build/vega-lite.min.js"),
            "vega-embed": ("6.29.0", "build/vega-embed.min.js")}

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC Plot</title>
{libraries}
    <script type="text/javascript">
        // SVG instead of vega-embed's default canvas: crisp when zoomed, and the drawn marks are
        // in the DOM (what tests/test_plots_offline.py checks in headless Chromium)
        window.vegaEmbed = (function (embed) {
            return function (el, spec, options) {
                return embed(el, spec, Object.assign({renderer: "svg"}, options || {}));
            };
        })(window.vegaEmbed);
    </script>
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def main(folder: str, out: str = str(Path(__file__).with_name("plots.html"))):
    libraries = []
    for name, (version, path) in PACKAGES.items():
        source = Path(folder) / f"{name}-{version}" / "package" / path
        code = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "", source.read_text(encoding="utf-8"))
        for bad in ("</script", "<!--", "{plot_divs}", "{scripts}", "{refresh_tag}"):
            if bad in code:
                sys.exit(f"{source}: contains {bad!r}, which would break the inline page")
        libraries.append(f"    <!-- {name} {version} (BSD-3-Clause, see templates/LICENSE-vega) -->\n"
                         f'    <script type="text/javascript">\n{code}\n    </script>')
    Path(out).write_text(PAGE.replace("{libraries}", "\n".join(libraries)), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
