"""Task log stores: where task output is kept, line by line, after it leaves the scheduler."""
