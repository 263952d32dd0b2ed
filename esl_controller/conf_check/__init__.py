"""``callcenter conf check``: read a FreeSWITCH configuration as FreeSWITCH does and say,
with file and line, what will break with this product.

:mod:`.preprocess` is FreeSWITCH's XML pre-processor (include globs, ``set``,
``$${var}`` expansion, its line quirks) keeping where every line and variable came
from; :mod:`.acl` evaluates network lists the way the core does; :mod:`.checks` holds the
checks themselves, pure functions of the parsed tree, the files they name and what the
product is configured with (:class:`.checks.Expectations`).
"""
