from typing import Any

from rest_framework.pagination import PageNumberPagination

from bank.api.errors import InvalidParameter


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request: Any, paginator: Any) -> Any:
        # DRF answers a malformed page with 404 "Invalid page"; it is a bad parameter (400), not a lost page.
        raw = request.query_params.get(self.page_query_param, 1)
        if raw in self.last_page_strings:
            return raw
        try:
            number = int(raw)
        except (TypeError, ValueError):
            raise InvalidParameter(self.page_query_param, "A page number is a whole number from 1.") from None
        if number < 1:
            raise InvalidParameter(self.page_query_param, "A page number is a whole number from 1.")
        return number
