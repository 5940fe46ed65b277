"""Reports that set one feature's figures against another's where neither feature may read
the other: analytics' measures against trust's scores."""
