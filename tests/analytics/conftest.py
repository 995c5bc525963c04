from tests.web.conftest import other_page, page  # noqa: F401  (signed-in browser sessions)
