"""Talking to the Telnyx AI API: the HTTP client (auth, retries, pagination, errors), its
adaptive concurrency bound, streaming body decoding, and the API's own request schemas.
"""
