"""Configuration text for the e2e tests' httpds, said once.

Every test module that serves the API writes its <Location> blocks with `location`, so what a
block holds (the handler, the registries, the access rule) and its order are the same everywhere.
"""


def location(path, *registries, **directives):
    """A <Location path> serving the API from `registries` (paths or globs, in that order), with
    `directives` (PassengerApiTimeout=5 -> "PassengerApiTimeout 5") after them in the order
    given, open to local clients only."""
    lines = [f"<Location {path}>",
             "    SetHandler passenger-api",
             "    PassengerApiRegistryDir " + " ".join(str(r) for r in registries)]
    lines += [f"    {name} {value}" for name, value in directives.items()]
    lines += ["    Require local", "</Location>"]
    return "\n".join(lines) + "\n"
