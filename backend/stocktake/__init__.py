"""Stock-take 清查登记造册: ledger import, township regions, campaigns and completeness."""
