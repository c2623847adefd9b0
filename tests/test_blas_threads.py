"""genre_core.blas_threads: BLAS on one thread while any caller is inside, the original limit back after the last."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

from genre_core import blas_threads
from genre_core.blas_threads import one_blas_thread


def blas_threads_now() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_overlapping_callers_keep_one_thread_until_the_last_leaves_and_then_restore_the_original() -> None:
    with threadpool_limits(limits=2, user_api="blas"):  # a known starting point on any machine
        original = blas_threads_now()
        first, second = one_blas_thread(), one_blas_thread()
        first.__enter__()
        second.__enter__()
        assert blas_threads_now() == {1} and blas_threads.users() == 2
        first.__exit__(None, None, None)  # the first one out, while the second still computes
        assert blas_threads_now() == {1} and blas_threads.users() == 1
        second.__exit__(None, None, None)
        assert blas_threads_now() == original and blas_threads.users() == 0


def test_the_limit_is_lifted_when_the_caller_raises() -> None:
    original = blas_threads_now()
    try:
        with one_blas_thread():
            raise ValueError("inside")
    except ValueError:
        pass
    assert blas_threads_now() == original and blas_threads.users() == 0
