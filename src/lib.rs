//! Faasm executor: function store, worker pool, chaining.
