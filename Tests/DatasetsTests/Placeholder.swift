// The datasets branch declares this test target before committing its tests; this file lets the
// package build meanwhile. Delete it once Tests/DatasetsTests has tests of its own.
